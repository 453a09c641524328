import { summaryRequest } from '../../src/agent/compaction';
import { buildRequest } from '../../src/agent/context-builder';
import type { AgentJournal, SessionRun } from '../../src/agent/journal';
import { runAgent } from '../../src/agent/loop';
import type { AgentMessage, ImageRef, ModelPort } from '../../src/agent/ports';
import { IMAGE_TOKENS, messageTokens, runEntries } from '../../src/agent/transcript';
import { MAX_IMAGE_BYTES, unreadableNote, withImages } from '../../src/worker/images';
import { createModelPort, toChatMessage } from '../../src/worker/openai/chat';
import { acceptsImages } from '../../src/worker/openai/vision';
import {
  answer,
  callTools,
  fakeTool,
  runInput,
  runPorts,
  scriptedModel,
  testClock,
  type ModelCall,
} from '../helpers/agent-world';
import { startFakeOpenAI, type ChatMessage } from '../helpers/fake-openai';
import { memoryJournal, type MemoryJournal } from '../helpers/memory-journal';

// Images the person sends: which models are given them, how the worker reads them into a request
// just before it goes, their wire form, what they cost in the transcript, and that a run's last
// request and the next run's first agree byte for byte with images in them.

const PHOTO: ImageRef = { path: 'uploads/2026-12-06-photo.jpg', mimeType: 'image/jpeg' };
const SKETCH: ImageRef = { path: 'uploads/2026-12-06-sketch.png', mimeType: 'image/png' };
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 4, 5, 6]);
const dataUrl = (mime: string, bytes: Buffer): string => `data:${mime};base64,${bytes.toString('base64')}`;

/** A model port that records the messages it is given and answers "ok". */
function recordingModel(): { port: ModelPort; calls: (readonly AgentMessage[])[] } {
  const calls: (readonly AgentMessage[])[] = [];
  const port: ModelPort = async (messages) => {
    calls.push(messages);
    return answer('ok');
  };
  return { port, calls };
}

/** A loader over a map of files that counts its reads. */
function files(map: Record<string, Buffer>): {
  load: (path: string) => Promise<Buffer | null>;
  reads: string[];
} {
  const reads: string[] = [];
  return {
    reads,
    load: async (path) => {
      reads.push(path);
      return map[path] ?? null;
    },
  };
}

describe('acceptsImages', () => {
  it.each([
    'gpt-4o',
    'gpt-4o-mini',
    'gpt-4o-2024-08-06',
    'chatgpt-4o-latest',
    'gpt-4.1-nano',
    'gpt-4-turbo',
    'gpt-4-turbo-2024-04-09',
    'gpt-5',
    'gpt-5-mini',
    'o1',
    'o1-pro',
    'o3',
    'o3-2025-04-16',
    'o4-mini',
    'claude-3-5-sonnet-20241022',
    'claude-sonnet-4-20250514',
    'claude-opus-4-1',
    'claude-haiku-4-5',
    'gemini-1.5-pro',
    'gemini-2.5-flash',
    'gemini-3-pro-preview',
    'grok-2-vision-1212',
    'grok-4',
    'pixtral-large-latest',
    'mistral-small-3.1-24b-instruct',
    'mistral-small-2503',
    'mistral-medium-3',
    'llava:13b',
    'qwen-vl-max',
    'qwen2.5-vl-72b-instruct',
    'qwen2.5vl:7b',
    'llama-3.2-11b-vision-instruct',
    'llama3.2-vision',
    'llama-4-scout-17b-16e-instruct',
    'gemma-3-27b-it',
    'gemma3:12b',
    'openai/gpt-4o-mini',
    'google/gemini-2.0-flash-001',
    'anthropic/claude-3.5-sonnet',
    'meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8',
    'GPT-4O',
  ])('auto gives images to %s', (model) => {
    expect(acceptsImages(model, 'auto')).toBe(true);
  });

  it.each([
    'gpt-3.5-turbo',
    'gpt-4',
    'gpt-4-turbo-preview',
    'gpt-4o-audio-preview',
    'gpt-4o-realtime-preview',
    'gpt-4o-mini-tts',
    'gpt-4o-search-preview',
    'o1-mini',
    'o1-preview',
    'o3-mini',
    'claude-2.1',
    'gemini-1.0-pro',
    'grok-3',
    'mistral-small-3',
    'mistral-small-2501',
    'mistral-large-latest',
    'deepseek-chat',
    'qwen2.5-coder:32b',
    'llama-3.1-70b-instruct',
    'llama3.2:3b',
    'gemma-3-1b-it',
    'gemma3:1b',
    'gemma3n:e4b',
    'my-local-model',
  ])('auto gives no images to %s', (model) => {
    expect(acceptsImages(model, 'auto')).toBe(false);
  });

  it('on and off decide whatever the model', () => {
    expect(acceptsImages('my-local-model', 'on')).toBe(true);
    expect(acceptsImages('gpt-4o', 'off')).toBe(false);
  });
});

describe('withImages', () => {
  const question: AgentMessage = {
    role: 'user',
    content: 'what is in uploads/2026-12-06-photo.jpg?',
    images: [PHOTO],
  };

  it('gives a model that sees each image as a data URL, reading each path once for the attempt', async () => {
    const inner = recordingModel();
    const disk = files({ [PHOTO.path]: JPEG, [SKETCH.path]: PNG });
    const model = withImages(inner.port, { load: disk.load, accepts: () => true, defaultModel: 'gpt-4o' });
    const both: AgentMessage = { role: 'user', content: 'and these', images: [PHOTO, SKETCH] };
    const system: AgentMessage = { role: 'system', content: 'You are a test.' };
    await model([system, question], []);
    await model([system, question, { role: 'assistant', content: 'a cat' }, both], []);

    expect(inner.calls[1]).toEqual([
      system,
      { ...question, images: [{ ...PHOTO, url: dataUrl('image/jpeg', JPEG) }] },
      { role: 'assistant', content: 'a cat' },
      {
        ...both,
        images: [
          { ...PHOTO, url: dataUrl('image/jpeg', JPEG) },
          { ...SKETCH, url: dataUrl('image/png', PNG) },
        ],
      },
    ]);
    expect(disk.reads.sort()).toEqual([PHOTO.path, SKETCH.path]);
  });

  it('strips the images for a model that does not see them: the text names the path', async () => {
    const inner = recordingModel();
    const disk = files({ [PHOTO.path]: JPEG });
    const model = withImages(inner.port, {
      load: disk.load,
      accepts: () => false,
      defaultModel: 'deepseek-chat',
    });
    await model([question], []);
    expect(inner.calls[0]).toEqual([{ role: 'user', content: question.content }]);
    expect(disk.reads).toEqual([]);
  });

  it("decides by the call's model when it names one, else by the default", async () => {
    const inner = recordingModel();
    const disk = files({ [PHOTO.path]: JPEG });
    const model = withImages(inner.port, {
      load: disk.load,
      accepts: (name) => acceptsImages(name, 'auto'),
      defaultModel: 'deepseek-chat',
    });
    await model([question], []);
    await model([question], [], { model: 'gpt-4o' });
    expect(inner.calls[0]).toEqual([{ role: 'user', content: question.content }]);
    expect(inner.calls[1]).toEqual([
      { ...question, images: [{ ...PHOTO, url: dataUrl('image/jpeg', JPEG) }] },
    ]);
  });

  it('leaves out an image that cannot be read or is too big, and says so in its message', async () => {
    const inner = recordingModel();
    const big = Buffer.alloc(11);
    const disk = files({ [SKETCH.path]: big });
    const model = withImages(inner.port, {
      load: disk.load,
      accepts: () => true,
      defaultModel: 'gpt-4o',
      maxBytes: 10,
    });
    await model([{ role: 'user', content: 'look', images: [PHOTO, SKETCH] }], []);
    expect(inner.calls[0]).toEqual([
      {
        role: 'user',
        content: `look${unreadableNote(PHOTO.path)}${unreadableNote(SKETCH.path)}`,
        images: [PHOTO, SKETCH],
      },
    ]);
    expect(unreadableNote(PHOTO.path)).toBe('\n(image uploads/2026-12-06-photo.jpg is no longer readable)');
    expect(MAX_IMAGE_BYTES).toBe(20 * 1024 * 1024);
    // and the wire form then carries the text only
    expect(toChatMessage(inner.calls[0]![0]!)).toEqual({
      role: 'user',
      content: inner.calls[0]![0]!.content,
    });
  });

  it('fails the call when a read fails, and reads again on the next call', async () => {
    const inner = recordingModel();
    let fail = true;
    const model = withImages(inner.port, {
      load: async () => {
        if (fail) throw new Error('EIO: i/o error');
        return JPEG;
      },
      accepts: () => true,
      defaultModel: 'gpt-4o',
    });
    await expect(model([question], [])).rejects.toThrow('EIO');
    fail = false;
    await model([question], []);
    expect(inner.calls).toEqual([
      [{ ...question, images: [{ ...PHOTO, url: dataUrl('image/jpeg', JPEG) }] }],
    ]);
  });
});

describe('chat-completions form of images', () => {
  const apiKey = 'sk-test-vision-0123456789';

  it('sends a message with read images as text and image parts, and every other message as before', async () => {
    const ai = await startFakeOpenAI({ apiKey });
    try {
      ai.setReply(() => 'a cat');
      const model = createModelPort({ apiKey, baseUrl: `${ai.url}/v1`, model: 'gpt-4o', timeoutSeconds: 5 });
      const url = dataUrl('image/jpeg', JPEG);
      await model(
        [
          { role: 'system', content: 'You are a test.' },
          { role: 'user', content: 'plain' },
          { role: 'user', content: 'not read', images: [PHOTO] },
          { role: 'user', content: 'what is this?', images: [{ ...PHOTO, url }, SKETCH] },
        ],
        [],
      );
      await model([{ role: 'user', content: 'plain' }], []);

      const messages: ChatMessage[] = ai.requests[0]!.body.messages;
      expect(messages).toEqual([
        { role: 'system', content: 'You are a test.' },
        { role: 'user', content: 'plain' },
        { role: 'user', content: 'not read' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this?' },
            { type: 'image_url', image_url: { url } },
          ],
        },
      ]);
      // a message without images is sent as it always was: a string, nothing more
      expect(JSON.stringify(ai.requests[1]!.body.messages)).toBe('[{"role":"user","content":"plain"}]');
    } finally {
      await ai.close();
    }
  });
});

describe('images in the transcript', () => {
  it("puts a run's images on its first message and counts each image's fixed cost", () => {
    const entries = runEntries(
      { id: 3, message: 'see the photo', images: [PHOTO, SKETCH], answer: 'ok', steps: [] },
      false,
    );
    expect(entries[0]!.message).toEqual({ role: 'user', content: 'see the photo', images: [PHOTO, SKETCH] });
    const text = messageTokens({ role: 'user', content: 'see the photo' });
    expect(entries[0]!.tokens).toBe(text + 2 * IMAGE_TOKENS);
    expect(IMAGE_TOKENS).toBe(1_000);
    // no images, or an empty list: the message is as it was before images existed
    const plain = runEntries({ id: 4, message: 'hi', images: [], answer: null, steps: [] }, true);
    expect(plain[0]!.message).toEqual({ role: 'user', content: 'hi' });
  });

  it('asks the summary to describe the images only when the part summarized holds some', () => {
    expect(summaryRequest(false).content).not.toContain('## Images');
    expect(summaryRequest(false, undefined, true).content).toContain(
      '## Images — each image the person sent: its path, and what it shows',
    );
  });

  it("the request that ends a run and the next run's first request agree byte for byte, images included", async () => {
    const memory = memoryJournal();
    const journal = sessionJournal(memory);
    const disk = files({ [PHOTO.path]: JPEG });
    const read = fakeTool({
      name: 'read',
      readOnly: true,
      run: () => ({ content: 'port 3000', isError: false }),
    });
    const clock = testClock();
    // each request as the wire carries it (after the images are read), message by message
    const wire: string[][] = [];
    const model = (script: Parameters<typeof scriptedModel>[0]): { calls: ModelCall[]; port: ModelPort } => {
      const scripted = scriptedModel(script);
      const recorded: ModelPort = async (messages, tools, options) => {
        wire.push(messages.map((m) => JSON.stringify(toChatMessage(m))));
        return scripted.port(messages, tools, options);
      };
      return {
        calls: scripted.calls,
        port: withImages(recorded, { load: disk.load, accepts: () => true, defaultModel: 'gpt-4o' }),
      };
    };

    const first = model([callTools(['read', { path: 'app.ts' }]), answer('It is a cat on a keyboard.')]);
    const firstRun = runInput(1, {
      run: {
        inboxId: 1,
        chatId: 42,
        project: 'default',
        message: 'what is in uploads/2026-12-06-photo.jpg?',
        images: [PHOTO],
      },
    });
    await runAgent(firstRun, runPorts(first, [read], journal, clock));
    const second = model([answer('Yes.')]);
    await runAgent(
      runInput(2, { run: { inboxId: 2, chatId: 42, project: 'default', message: 'is it a cat?' } }),
      runPorts(second, [read], journal, clock),
    );

    expect(wire).toHaveLength(3);
    // the photo is on the first run's message in every request of the session
    for (const call of [...first.calls, ...second.calls]) {
      expect(call.messages[1]).toEqual({
        role: 'user',
        content: 'what is in uploads/2026-12-06-photo.jpg?',
        images: [{ ...PHOTO, url: dataUrl('image/jpeg', JPEG) }],
      });
    }
    for (let i = 1; i < wire.length; i++) expect(wire[i]!.slice(0, wire[i - 1]!.length)).toEqual(wire[i - 1]);
    expect(wire[2]!.length).toBe(wire[1]!.length + 2);
    expect(JSON.parse(wire[2]![1]!)).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'what is in uploads/2026-12-06-photo.jpg?' },
        { type: 'image_url', image_url: { url: dataUrl('image/jpeg', JPEG) } },
      ],
    });
    // the journal stores the paths only, never the bytes
    expect(memory.runs[0]!.images).toEqual([PHOTO]);
    // and the rendering of the stored run is the same as the pure builder's
    const rendered = buildRequest('You are a test.', null, runEntries(sessionRun(memory, 1), false));
    expect(rendered.messages[1]).toEqual({ role: 'user', content: firstRun.run.message, images: [PHOTO] });
  });
});

/** A stored memory run as a session's earlier run. */
function sessionRun(memory: MemoryJournal, id: number): SessionRun {
  const run = memory.runs.find((r) => r.id === id)!;
  return {
    id: run.id,
    message: run.message,
    ...(run.images !== undefined ? { images: run.images } : {}),
    status: run.status,
    answer: run.answer,
    steps: run.steps,
  };
}

/** The memory journal with every run in one session: a run sees the runs before it. */
function sessionJournal(memory: MemoryJournal): AgentJournal {
  return {
    ...memory,
    begin(request, now) {
      const run = memory.begin(request, now);
      const earlier = memory.runs.filter((r) => r.id < run.id).map((r) => sessionRun(memory, r.id));
      return { ...run, session: { id: 1, compaction: null, earlier } };
    },
  };
}
