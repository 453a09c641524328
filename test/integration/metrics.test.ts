import net from 'node:net';
import { MetricsRecorder, percentile } from '../../src/worker/metrics/recorder';
import { openAIErrors } from '../helpers/fake-openai';
import { useWorkerHarness } from '../helpers/worker-harness';

// The worker's figures: the recorder's windows, and /metrics as Prometheus text through HTTP.

const h = useWorkerHarness();

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// The text exposition format, line by line: comments (# HELP / # TYPE) or `name{labels} value`
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.]+(e[+-]?\d+)?|[+-]Inf|NaN)$/;
const COMMENT =
  /^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$/;

function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      if (!COMMENT.test(line)) throw new Error(`not a Prometheus comment line: ${line}`);
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(line.slice(0, line.lastIndexOf(' ')), Number(match[4]));
  }
  return samples;
}

describe('metrics', () => {
  it('keeps answers and errors of the last minute and the reply percentiles', () => {
    const r = new MetricsRecorder();
    for (let i = 1; i <= 100; i++) r.answer(1000 + i, i * 10);
    r.error(1000, 'openai');
    expect(r.snapshot(2000)).toMatchObject({
      answeredPerMinute: 100,
      errorsPerMinute: 1,
      replyP50Ms: 500,
      replyP95Ms: 950,
      answeredTotal: 100,
    });
    expect(r.snapshot(61_050)).toMatchObject({
      answeredPerMinute: 50,
      errorsPerMinute: 0,
      answeredTotal: 100,
    });
    expect(percentile([], 0.5)).toBeNull();
  });

  it("serves /metrics on 127.0.0.1 as Prometheus text with the worker's figures", async () => {
    const port = await freePort();
    const worker = await h.start({ AUTONOUS_METRICS_PORT: String(port) });
    expect(worker.metricsPort).toBe(port);
    h.telegram.pushMessage(101, 'one');
    h.telegram.pushMessage(102, 'two');
    await h.telegram.waitForSent(2);
    await h.settled();
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const samples = parsePrometheus(await res.text());
    expect(samples.get('autonous_answered_total')).toBe(2);
    expect(samples.get('autonous_queue_depth')).toBe(0);
    expect(samples.get('autonous_in_flight')).toBe(0);
    expect(samples.get('autonous_dead_total')).toBe(0);
    expect(samples.get('autonous_reply_seconds_count')).toBe(2);
    expect(samples.get('autonous_reply_seconds_bucket{le="+Inf"}')).toBe(2);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  });

  it('exports every service at 0 errors from the start, so a rate over them reads 0', async () => {
    const port = await freePort();
    await h.start({ AUTONOUS_METRICS_PORT: String(port) });
    const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(samples.get('autonous_errors_total{service="telegram"}')).toBe(0);
    expect(samples.get('autonous_errors_total{service="model"}')).toBe(0);
    expect(samples.get('autonous_errors_total{service="worker"}')).toBe(0);
  });

  it('counts failed attempts by service, the model\'s as service="model"', async () => {
    const port = await freePort();
    h.openai.failNext(openAIErrors.serverError());
    await h.start({ AUTONOUS_METRICS_PORT: String(port) });
    h.telegram.pushMessage(101, 'fails once');
    await h.telegram.waitForSent(1, 10_000);
    const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(samples.get('autonous_errors_total{service="model"}')).toBe(1);
    expect(samples.get('autonous_errors_total{service="telegram"}')).toBe(0);
  });
});
