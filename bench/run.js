// `npm run bench`: runs every benchmark in this folder, one after another. They measure and
// print; they are not tests and never fail the build on a slow figure.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
// The TypeScript benchmarks drive the real worker against the test fakes: compile them first.
execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', path.join(__dirname, 'tsconfig.json')],
  {
    stdio: 'inherit',
  },
);
// compiled src/db/open.js looks for the migrations two folders up, as it does in dist/
const migrations = path.join(root, 'dist-bench', 'drizzle');
if (!fs.existsSync(migrations)) fs.symlinkSync(path.join(root, 'drizzle'), migrations);
// compiled test/helpers/pm2-sandbox.js finds the pm2 CLI in node_modules two folders up, too
const modules = path.join(root, 'dist-bench', 'node_modules');
if (!fs.existsSync(modules)) fs.symlinkSync(path.join(root, 'node_modules'), modules);
const only = process.argv[2];
for (const file of fs.readdirSync(__dirname).sort()) {
  if (file === 'run.js' || !/\.(js|ts)$/.test(file) || (only && !file.includes(only))) continue;
  const script = file.endsWith('.ts')
    ? path.join(root, 'dist-bench', 'bench', file.replace(/\.ts$/, '.js'))
    : path.join(__dirname, file);
  console.log(`\n== ${file}`);
  execFileSync(process.execPath, [script], { stdio: 'inherit' });
}
