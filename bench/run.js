// `npm run bench`: runs every benchmark in this folder, one after another. They measure and
// print; they are not tests and never fail the build on a slow figure.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const only = process.argv[2];
for (const file of fs.readdirSync(__dirname).sort()) {
  if (file === 'run.js' || !file.endsWith('.js') || (only && !file.includes(only))) continue;
  console.log(`\n== ${file}`);
  execFileSync(process.execPath, [path.join(__dirname, file)], { stdio: 'inherit' });
}
