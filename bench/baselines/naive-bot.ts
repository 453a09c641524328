// Baseline: the bot a newcomer writes first with node-telegram-bot-api v2. Long-poll, ask the
// model, reply; one update at a time, nothing stored, no retries beyond the libraries' own.
// The benchmark runs it as its own process: `node dist-bench/bench/baselines/naive-bot.js`.
import { Api, longPoll } from 'node-telegram-bot-api';
import OpenAI from 'openai';
import { readBaselineEnv, SYSTEM_PROMPT } from './baseline-env';

async function main(): Promise<void> {
  const env = readBaselineEnv(process.env);
  const api = new Api(env.token, { apiRoot: env.apiRoot });
  const openai = new OpenAI({ apiKey: env.apiKey, baseURL: env.openaiBaseUrl });
  for await (const update of longPoll(api, { timeout: 30 })) {
    const message = 'message' in update ? update.message : undefined;
    if (!message?.text) continue;
    try {
      const completion = await openai.chat.completions.create({
        model: env.model,
        messages: [
          { role: 'system', content: SYSTEM_PROMPT },
          { role: 'user', content: message.text },
        ],
      });
      const answer = completion.choices[0]?.message.content || '(no answer)';
      await api.sendMessage({
        chat_id: message.chat.id,
        text: answer,
        reply_parameters: { message_id: message.message_id },
      });
    } catch (err) {
      console.error('naive bot: could not answer', err);
    }
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
