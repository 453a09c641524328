// The approval and project commands: `/approve ID [run]` and `/deny ID` (the text fallback of the card's
// buttons), `/project [NAME]`, `/diff` and `/undo`. The command handler asks these first.
//
// Lanes: `/approve`, `/deny`, `/project` and `/diff` are control-lane commands, answered at once
// even while a run works: deciding and switching only write SQLite, and `/diff` only reads git
// objects (log, diff of two commits; neither the index nor the working tree). `/undo` writes the
// working tree and HEAD, so it goes in the answer lane (classify-update.ts): it waits for the
// chat's run in progress, parked ones included, instead of racing it.

import { conversationOf } from '../chat-session';
import type { ApprovalDecision } from '../../agent/approval-policy';
import type { ApprovalStore } from '../../queue/agent/approval-store';
import { cut } from '../../shared/cut';
import { KV } from '../../queue/kv';
import type { InboxRow } from '../../queue/row';
import type { Store } from '../../queue/store';
import { lastRunDiff, undoLast } from '../../workspace/git';
import type { GitOptions } from '../../workspace/git-runner';
import type { CommandReply, MoreCommands } from '../handlers/command';
import type { TelegramClient } from '../telegram/client';
import { MAX_CARD_CHARS } from './card';
import { decide, type DecisionDeps } from './decision';
import {
  currentProjectName,
  listProjects,
  projectChoiceError,
  projectFor,
  resolveProject,
  type ProjectConfig,
  SELF_OFF,
} from './projects';
import { SELF_PROJECT } from '../../workspace/self-project';

/** What the commands need. */
export interface ChatCommandsDeps extends DecisionDeps {
  readonly approvals: Pick<ApprovalStore, 'detail' | 'decide' | 'openRunOfChat'>;
  readonly store: Pick<Store, 'unpark' | 'getKv' | 'setKv' | 'storeReply'>;
  readonly telegram: Pick<TelegramClient, 'editMessageText' | 'sendDocument'>;
  readonly projects: ProjectConfig;
  /** How git runs on projects (in bwrap when commands do). */
  readonly git: () => GitOptions;
}

const APPROVE_ARGS = /^#?([1-9]\d{0,14})(?:\s+(once|run))?$/i;
const DENY_ARGS = /^#?([1-9]\d{0,14})$/;

/** Parses `/approve ID [once|run]` and `/deny ID`; null when the arguments do not fit. */
export function parseDecisionArgs(
  name: 'approve' | 'deny',
  args: string,
): { approvalId: number; decision: ApprovalDecision } | null {
  const match = (name === 'approve' ? APPROVE_ARGS : DENY_ARGS).exec(args.trim());
  if (match === null) return null;
  const decision: ApprovalDecision =
    name === 'deny' ? 'deny' : match[2]?.toLowerCase() === 'run' ? 'allow-run' : 'allow-once';
  return { approvalId: Number(match[1]), decision };
}

function shortId(commit: string): string {
  return commit.slice(0, 8);
}

/** `/approve`, `/deny`, `/project`, `/diff`, `/undo`. */
export class ChatCommands implements MoreCommands {
  constructor(private readonly deps: ChatCommandsDeps) {}

  /** Runs one of these commands, or returns null when `name` is not one of them. */
  async run(item: InboxRow, name: string, args: string, signal?: AbortSignal): Promise<CommandReply | null> {
    switch (name) {
      case 'approve':
      case 'deny':
        return this.decision(item, name, args);
      case 'project':
        return { text: await this.project(item, args) };
      case 'diff':
        return this.diff(item, signal);
      case 'undo':
        // not stoppable: a revert cut short would leave HEAD and the working tree apart; git's
        // time limit bounds it
        return { text: await this.undo(item) };
      default:
        return null;
    }
  }

  private decision(item: InboxRow, name: 'approve' | 'deny', args: string): CommandReply {
    const parsed = parseDecisionArgs(name, args);
    if (parsed === null) {
      return {
        text: `Use /${name} ID${name === 'approve' ? ' (or /approve ID run: identical calls of that run need no more asking)' : ''}, with the number on the approval card.`,
      };
    }
    const report = decide(this.deps, { ...parsed, userId: item.fromId, chatId: item.chatId! });
    return { text: report.text, after: report.finish };
  }

  private async project(item: InboxRow, args: string): Promise<string> {
    const { store, projects } = this.deps;
    const chatId = item.chatId!;
    // in a forum, each topic has its project
    const at = conversationOf(item);
    const current = currentProjectName(store, at);
    if (args === '') {
      const here = await projectFor(store, projects, at, this.deps.git());
      const names = (await listProjects(projects)).map((n) =>
        projects.projects[n] !== undefined ? `${n} (listed by the operator)` : n,
      );
      return [
        `Current project: ${here.name} (${here.root})`,
        `Projects: ${names.join(', ')}`,
        'Switch with /project NAME; a new name creates an empty project (a git repository).',
      ].join('\n');
    }
    const name = args.trim();
    const error = projectChoiceError(name);
    if (error !== null) return error;
    if (name === SELF_PROJECT) {
      if (projects.self?.on !== true) return SELF_OFF;
      // its commands build the code the worker runs: an approver's own chat only
      if (!this.deps.approvers.includes(chatId))
        return 'Project self (autonous’s own code) may be picked only in the private chat of an approver (AGENT_APPROVERS).';
    }
    if (name === current) return `Already in project ${name}.`;
    const known = (await listProjects(projects)).includes(name);
    const project = await resolveProject(projects, name, this.deps.git());
    store.setKv(KV.chatProject(chatId, item.threadId), name, this.deps.now());
    const open = this.deps.approvals.openRunOfChat(chatId);
    return [
      `Switched to project ${name} (${project.root})${known ? '' : ', new: an empty git repository'}.`,
      ...(open !== undefined
        ? [`The run in progress stays in ${open.project}; the switch applies to your next message.`]
        : []),
    ].join('\n');
  }

  private async diff(item: InboxRow, signal?: AbortSignal): Promise<CommandReply> {
    const project = await projectFor(
      this.deps.store,
      this.deps.projects,
      conversationOf(item),
      this.deps.git(),
    );
    const last = await lastRunDiff(project.root, { ...this.deps.git(), signal });
    if (last === null) return { text: `No run of autonous has changed project ${project.name} yet.` };
    const head = `Last run in project ${project.name}: ${last.subject} (${shortId(last.commit)})${last.reverted ? ', undone since by /undo' : ''}`;
    const text = cut(`${head}\n\n${last.stat || 'No file changes.'}`, MAX_CARD_CHARS);
    if (last.diff === '') return { text };
    return {
      text,
      after: async (signal) => {
        await this.deps.telegram.sendDocument(
          item.chatId!,
          { buffer: Buffer.from(last.diff, 'utf8'), filename: `run-${shortId(last.commit)}.diff` },
          `The diff of ${shortId(last.commit)}`,
          item.messageId,
          signal,
        );
      },
    };
  }

  /**
   * Reverts the last run's commit. Its reply is stored before it is sent, so a retry (the send
   * failed) says it again instead of undoing one more run.
   */
  private async undo(item: InboxRow): Promise<string> {
    if (item.reply !== null) return item.reply;
    const project = await projectFor(
      this.deps.store,
      this.deps.projects,
      conversationOf(item),
      this.deps.git(),
    );
    const outcome = await undoLast(project.root, this.deps.git());
    const text =
      outcome.kind === 'reverted'
        ? `Undid ${outcome.subject} (${shortId(outcome.reverted)}) in project ${project.name} with a new commit ${shortId(outcome.commit)}; files: ${outcome.files.join(', ')}. Your uncommitted edits are kept.`
        : outcome.message;
    this.deps.store.storeReply(item.id, text);
    return text;
  }
}
