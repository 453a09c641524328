// What both baseline bots read from the environment: the same four variables the worker reads,
// so the benchmark points every contestant at the same fakes in the same way.

/** The settings of a baseline bot. */
export interface BaselineEnv {
  readonly token: string;
  readonly apiRoot: string;
  readonly apiKey: string;
  /** The SDK's base URL: OPENAI_CHAT_COMPLETIONS_URL without `/chat/completions`. */
  readonly openaiBaseUrl: string;
  readonly model: string;
}

/** The system prompt the worker sends by default, so every contestant asks the model the same. */
export const SYSTEM_PROMPT = 'You are a helpful assistant. Answer concisely.';

const COMPLETIONS_SUFFIX = '/chat/completions';

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new Error(`${name} is not set: the benchmark passes it to every baseline bot.`);
  return value;
}

/** Reads the baseline's settings; throws naming the first missing variable. */
export function readBaselineEnv(env: NodeJS.ProcessEnv): BaselineEnv {
  const url = required(env, 'OPENAI_CHAT_COMPLETIONS_URL');
  if (!url.endsWith(COMPLETIONS_SUFFIX))
    throw new Error(`OPENAI_CHAT_COMPLETIONS_URL must end in ${COMPLETIONS_SUFFIX}.`);
  return {
    token: required(env, 'TELEGRAM_BOT_TOKEN'),
    apiRoot: required(env, 'TELEGRAM_API_ROOT'),
    apiKey: required(env, 'OPENAI_API_KEY'),
    openaiBaseUrl: url.slice(0, -COMPLETIONS_SUFFIX.length),
    model: env.OPENAI_MODEL?.trim() || 'gpt-4o-mini',
  };
}
