// Glob patterns of `find` and `grep {glob}`: `*`, `**`, `?`, `[...]`, `{a,b}`. A pattern without
// a `/` matches a name at any depth (as `find -name` and rg's globs do); with one, the path
// relative to the searched folder.

/** A glob as a regular expression over a name or a relative path (with `/` separators). */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches any number of folders, also none
        if (glob[i + 2] === '/') {
          source += '(?:.*/)?';
          i += 2;
        } else {
          source += '.*';
          i += 1;
        }
      } else source += '[^/]*';
    } else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else if (c === '{') {
      braces++;
      source += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      source += ')';
    } else if (c === ',' && braces > 0) source += '|';
    else source += c.replace(/[.+^$()|\\]/g, '\\$&');
  }
  source += ')'.repeat(braces);
  return new RegExp(`^${source}$`);
}

/** Whether `relativePath` (from the searched folder) matches `glob`. */
export function matchesGlob(glob: RegExp, globHasSlash: boolean, relativePath: string): boolean {
  const subject = globHasSlash ? relativePath : relativePath.slice(relativePath.lastIndexOf('/') + 1);
  return glob.test(subject);
}
