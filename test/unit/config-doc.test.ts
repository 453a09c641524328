/**
 * The variable tables of the documentation against the one definition of each setting
 * (WORKER_SETTINGS, SUPERVISOR_THRESHOLDS): a variable added, renamed or given a new default or
 * range in the code and not in the documentation (or the other way round) fails here, with the
 * list of differences.
 */
import fs from 'node:fs';
import path from 'node:path';
import { APPROVAL_MODES } from '../../src/agent/approval-policy';
import { SUPERVISOR_THRESHOLDS } from '../../src/shared/contracts';
import { type Setting, WORKER_SETTINGS } from '../../src/shared/settings';
import { type DocumentedSetting, settingsDocMismatches, variableRows } from '../helpers/settings-doc';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** A setting as the documentation should show it: `—` when required, `empty` for an unset list. */
function documented(setting: Setting): DocumentedSetting {
  const range = 'min' in setting ? { min: setting.min, max: setting.max } : {};
  if (setting.documented !== undefined) return { default: setting.documented, ...range };
  if (setting.kind === 'required') return { default: '—', ...range };
  if (setting.kind === 'list' || setting.kind === 'chat-ids') return { default: 'empty', ...range };
  return { default: 'default' in setting ? String(setting.default) : '', ...range };
}

const WORKER = Object.fromEntries(
  Object.entries(WORKER_SETTINGS as Readonly<Record<string, Setting>>).map(([name, s]) => [
    name,
    documented(s),
  ]),
);
const SUPERVISOR = Object.fromEntries(
  Object.entries(SUPERVISOR_THRESHOLDS).map(([name, t]) => [
    name,
    { default: String(t.default), min: t.min, max: t.max },
  ]),
);

describe('the configuration reference', () => {
  it('lists every worker variable once, with the default and range the parser uses', () => {
    const file = 'docs/configuration.md';
    expect(settingsDocMismatches(WORKER, variableRows(read(file)), file)).toEqual([]);
  });

  it("lists every supervisor threshold once, with the supervisor's default and range", () => {
    const file = 'docs/supervisor.md';
    expect(settingsDocMismatches(SUPERVISOR, variableRows(read(file)), file)).toEqual([]);
  });

  it('keeps no second variable table in the README', () => {
    expect(variableRows(read('README.md')).map((row) => row.name)).toEqual([]);
  });

  it('offers the approval modes the agent knows', () => {
    expect(WORKER_SETTINGS.AGENT_APPROVAL.choices).toEqual(APPROVAL_MODES);
  });
});

describe('the settings check', () => {
  const markdown = [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    '| `A_SECONDS` | `31` | a wait (1-50) |',
    '| `B_LIST` | empty: nobody | a list |',
    '| `C_KEY` | — (required) | a secret |',
    '| `D_FLAG` | `0` (off) | a switch |',
    '| `GONE` | `1` | renamed since |',
  ].join('\n');
  const settings: Record<string, DocumentedSetting> = {
    A_SECONDS: { default: '30', min: 1, max: 60 },
    B_LIST: { default: 'empty' },
    C_KEY: { default: '—' },
    D_FLAG: { default: '0', min: 0, max: 1 },
    NEW_ONE: { default: 'x' },
  };

  it('names each wrong default, wrong range, missing row and unknown row, and accepts notes after a default', () => {
    expect(settingsDocMismatches(settings, variableRows(markdown), 'x.md')).toEqual([
      'NEW_ONE: no row in x.md',
      'A_SECONDS: x.md:3 gives the default "31", the settings "30"',
      'A_SECONDS: x.md:3 gives the range 1-50, the settings 1-60',
      'GONE: the row at x.md:7 names no known variable',
    ]);
  });
});
