// A chat's projects: the folders under AGENT_WORKSPACES and the ones the
// operator lists in AGENT_PROJECTS; the current one per chat, remembered in kv.

import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { KV } from '../../queue/kv';
import type { Store } from '../../queue/store';
import type { WorkerConfig } from '../../shared/config';
import { GIT_TIMEOUT_MS, type GitOptions } from '../../workspace/git-runner';
import { DEFAULT_PROJECT, projectNameError, projectPath } from '../../workspace/projects';
import { ensureSelfClone, SELF_PROJECT } from '../../workspace/self-project';
import type { Conversation } from '../chat-session';

/** What projects need of the configuration. */
export type ProjectConfig = Pick<WorkerConfig['agent'], 'workspaces' | 'projects'> &
  Partial<Pick<WorkerConfig['agent'], 'self' | 'checkout' | 'gitTimeoutSeconds'>>;

/** The answer to `/project self` (or a run in it) while AGENT_SELF is off. */
export const SELF_OFF =
  'Project self (autonous’s own code) is off: the operator turns it on with AGENT_SELF=on.';

/** A project as a run uses it. */
export interface Project {
  readonly name: string;
  /** The real path of its folder (created and git-inited). */
  readonly root: string;
  /** Listed by the operator (AGENT_PROJECTS) rather than a folder of AGENT_WORKSPACES. */
  readonly listed: boolean;
}

/**
 * The name of the current project of a chat, or of one of its forum topics (the default until
 * `/project NAME` there).
 */
export function currentProjectName(store: Pick<Store, 'getKv'>, at: Conversation): string {
  return store.getKv(KV.chatProject(at.chatId, at.threadId)) ?? DEFAULT_PROJECT;
}

/**
 * The folder of project `name`: the operator's listed path, else AGENT_WORKSPACES/name (created
 * and git-inited on first use). A listed name wins over a workspace folder of the same name.
 */
export async function resolveProject(
  config: ProjectConfig,
  name: string,
  git: GitOptions = {},
): Promise<Project> {
  if (name === SELF_PROJECT) {
    if (config.self?.on !== true || config.checkout === undefined) throw new Error(SELF_OFF);
    const clone = await ensureSelfClone(
      config.workspaces,
      config.checkout,
      config.gitTimeoutSeconds !== undefined ? config.gitTimeoutSeconds * 1000 : GIT_TIMEOUT_MS,
    );
    return { name, root: clone.root, listed: false };
  }
  const listed = config.projects[name];
  if (listed !== undefined) return { name, root: listed, listed: true };
  // every answer asks: a folder made once is remembered while it still has its repository
  const key = `${config.workspaces}\0${name}`;
  const known = knownRoots.get(key);
  if (known !== undefined && existsSync(path.join(known, '.git')))
    return { name, root: known, listed: false };
  const root = await projectPath(config.workspaces, name, git);
  knownRoots.set(key, root);
  return { name, root, listed: false };
}

// Workspace projects already created and git-inited, by workspaces folder and name
const knownRoots = new Map<string, string>();

/** The chat's current project, for a new agent run (`{name, root}`; the folder exists). */
export async function projectFor(
  store: Pick<Store, 'getKv'>,
  config: ProjectConfig,
  at: Conversation,
  git: GitOptions = {},
): Promise<Project> {
  const name = currentProjectName(store, at);
  // a stored name is always valid (it passed /project); this guards a hand-edited kv row
  return resolveProject(config, projectNameError(name) === null ? name : DEFAULT_PROJECT, git);
}

/**
 * The project of an inbox item's run: the one it began in when it exists (a parked or resumed run
 * stays in its project after a `/project` switch), else the chat's current one.
 */
export async function projectForRun(
  store: Pick<Store, 'getKv' | 'runOfItem'>,
  config: ProjectConfig,
  item: { readonly id: number } & Conversation,
  git: GitOptions = {},
): Promise<Project> {
  const run = store.runOfItem(item.id);
  if (run !== undefined && projectNameError(run.project) === null)
    return resolveProject(config, run.project, git);
  return projectFor(store, config, item, git);
}

/** The project names a chat may pick: workspace folders and listed ones, sorted, without duplicates. */
export async function listProjects(config: ProjectConfig): Promise<string[]> {
  const entries = await fs.readdir(config.workspaces, { withFileTypes: true }).catch(() => []);
  const folders = entries
    .filter((e) => e.isDirectory() && projectNameError(e.name) === null)
    .map((e) => e.name)
    .filter((n) => n !== SELF_PROJECT || config.self?.on === true);
  const self = config.self?.on === true ? [SELF_PROJECT] : [];
  return [...new Set([...folders, ...Object.keys(config.projects), DEFAULT_PROJECT, ...self])].sort();
}

/** Why `/project ARG` cannot switch to ARG, or null when it can. */
export function projectChoiceError(arg: string): string | null {
  if (arg.includes('/') || arg.startsWith('~') || arg.startsWith('.')) {
    return `${arg} looks like a path: a chat chooses projects by name. A folder outside the workspaces folder (AGENT_WORKSPACES) is a project only when the operator lists it in AGENT_PROJECTS (name=/abs/path), and this one is not listed.`;
  }
  return projectNameError(arg);
}
