// The projects folder (AGENT_WORKSPACES): one folder per project, a git repository each.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensureRepo } from './git';
import type { GitOptions } from './git-runner';

/** The project every chat starts in. */
export const DEFAULT_PROJECT = 'default';

const PROJECT_NAME = /^[a-z0-9-]{1,40}$/;

/** Why `name` cannot name a project, or null when it can (`[a-z0-9-]`, at most 40). */
export function projectNameError(name: string): string | null {
  if (PROJECT_NAME.test(name)) return null;
  return `"${name}" cannot be a project name: use 1 to 40 lowercase letters, digits and dashes.`;
}

/** The real path of project `name` under `workspacesRoot`, created and git-inited on first use. */
export async function projectPath(
  workspacesRoot: string,
  name: string,
  options: GitOptions = {},
): Promise<string> {
  const error = projectNameError(name);
  if (error) throw new Error(error);
  const root = path.join(path.resolve(workspacesRoot), name);
  await ensureRepo(root, options);
  return fs.realpath(root);
}
