// Baseline: grammY with @grammyjs/runner, the fastest common Node stack: updates run concurrently,
// `sequentialize` keeps each chat in order. Nothing stored. The benchmark runs it as its own
// process: `node dist-bench/bench/baselines/grammy-bot.js`.
import { run, sequentialize } from '@grammyjs/runner';
import { Bot } from 'grammy';
import OpenAI from 'openai';
import { readBaselineEnv, SYSTEM_PROMPT } from './baseline-env';

const env = readBaselineEnv(process.env);
const bot = new Bot(env.token, { client: { apiRoot: env.apiRoot } });
const openai = new OpenAI({ apiKey: env.apiKey, baseURL: env.openaiBaseUrl });

bot.use(sequentialize((ctx) => ctx.chat?.id.toString()));
bot.on('message:text', async (ctx) => {
  const completion = await openai.chat.completions.create({
    model: env.model,
    messages: [
      { role: 'system', content: SYSTEM_PROMPT },
      { role: 'user', content: ctx.message.text },
    ],
  });
  const answer = completion.choices[0]?.message.content || '(no answer)';
  await ctx.reply(answer, { reply_parameters: { message_id: ctx.message.message_id } });
});
bot.catch((err) => console.error('grammY bot: could not answer', err.error));

const runner = run(bot);
const stop = (): void => {
  if (runner.isRunning()) void runner.stop();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
