// Models that think in their content (Qwen, DeepSeek R1 distills, models served by Ollama) open it
// with `<think>…</think>`. That is their reasoning, not the answer: the journal keeps the content as
// the model wrote it (the next request sends it back unchanged), and what the person is shown
// leaves it out, or folds it (OPENAI_SHOW_THINKING). Pure.

const OPEN = /^\s*<think>/;
const CLOSE = '</think>';

/** A model's text split into its leading reasoning and the answer after it. */
export interface SplitThinking {
  /** The reasoning inside a leading `<think>`; null when the text does not open with one. */
  readonly thinking: string | null;
  readonly answer: string;
}

/** Splits a leading `<think>…</think>`; an unclosed one (still streaming, or cut off) is all thinking. */
export function splitThinking(text: string): SplitThinking {
  const open = OPEN.exec(text);
  if (open === null) return { thinking: null, answer: text };
  const rest = text.slice(open[0].length);
  const end = rest.indexOf(CLOSE);
  if (end < 0) return { thinking: rest.trim(), answer: '' };
  return { thinking: rest.slice(0, end).trim(), answer: rest.slice(end + CLOSE.length).trimStart() };
}

/**
 * What the person is shown of a model's text: without its leading reasoning, or (`show`) with it
 * first as a quote, which Telegram folds when it is long.
 */
export function shownText(text: string, show: boolean): string {
  const { thinking, answer } = splitThinking(text);
  if (thinking === null || !show || thinking === '') return thinking === null ? text : answer;
  const quoted = thinking
    .split('\n')
    .map((line) => `> ${line}`)
    .join('\n');
  return `> 💭 Thinking\n${quoted}\n\n${answer}`;
}
