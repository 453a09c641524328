// The images of a session on their way to the model. The journal keeps only an image's path in the
// project; just before each request this wrapper of the model port reads the bytes and gives them
// as a `data:` URL to a model that sees images, and strips them for one that does not (the message
// text names each image's path, so that model can still work with the file). An image that can no
// longer be read (deleted, replaced, grown too big) is left out, and its message says so.

import type { AgentMessage, ImageRef, ModelPort, UserMessage } from '../agent/ports';
import { readProjectImage } from '../workspace/uploads';

/** The largest image given to the model: OpenAI's limit for an image in a request. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** What `withImages` needs. */
export interface ImageDeps {
  /** The bytes of a project file (its path as stored); null when it cannot be read as an image. */
  readonly load: (path: string) => Promise<Buffer | null>;
  /** Whether a model is given images (`acceptsImages` with OPENAI_VISION). */
  readonly accepts: (model: string) => boolean;
  /** The model of a call that names none (OPENAI_MODEL). */
  readonly defaultModel: string;
  /** An image bigger than this is left out as unreadable; default MAX_IMAGE_BYTES. */
  readonly maxBytes?: number;
}

/** What a message says of an image of it that could not be read for this request. */
export function unreadableNote(path: string): string {
  return `\n(image ${path} is no longer readable)`;
}

/**
 * The model port with the images of user messages prepared for each call: read and given a `url`
 * when the call's model accepts images, stripped when it does not. Each image is read once per
 * path for the wrapper's lifetime (one run attempt), so the requests of an attempt carry the same
 * bytes and a long session is not read again at every step.
 */
export function withImages(model: ModelPort, deps: ImageDeps): ModelPort {
  const maxBytes = deps.maxBytes ?? MAX_IMAGE_BYTES;
  const urls = new Map<string, Promise<string | null>>();
  const urlOf = (image: ImageRef): Promise<string | null> => {
    let url = urls.get(image.path);
    if (url === undefined) {
      url = deps
        .load(image.path)
        .then((bytes) =>
          bytes === null || bytes.length > maxBytes
            ? null
            : `data:${image.mimeType};base64,${bytes.toString('base64')}`,
        );
      urls.set(image.path, url);
      // a failed read is not remembered: the error fails this call, and the next one reads again
      const pending = url;
      pending.catch(() => {
        if (urls.get(image.path) === pending) urls.delete(image.path);
      });
    }
    return url;
  };

  const withUrls = async (message: UserMessage): Promise<UserMessage> => {
    const images = message.images ?? [];
    const found = await Promise.all(images.map(urlOf));
    let content = message.content;
    const given = images.map((image, i): ImageRef => {
      const url = found[i];
      if (url === null || url === undefined) {
        content += unreadableNote(image.path);
        return { path: image.path, mimeType: image.mimeType };
      }
      return { path: image.path, mimeType: image.mimeType, url };
    });
    return { role: 'user', content, images: given };
  };

  return async (messages, tools, options) => {
    const sees = deps.accepts(options?.model ?? deps.defaultModel);
    const prepared = await Promise.all(
      messages.map((message): AgentMessage | Promise<AgentMessage> => {
        if (message.role !== 'user' || message.images === undefined) return message;
        return sees ? withUrls(message) : { role: 'user', content: message.content };
      }),
    );
    return model(prepared, tools, options);
  };
}

/**
 * The model port of one run attempt (or one `/compact`) in the project at `root`: the session's
 * images read from the project for a model that `accepts` them. Without a project, the port as is.
 */
export function withProjectImages(
  model: ModelPort,
  root: string,
  accepts: (model: string) => boolean,
  defaultModel: string,
): ModelPort {
  if (root === '') return model;
  return withImages(model, {
    load: (file) => readProjectImage(root, file, MAX_IMAGE_BYTES),
    accepts,
    defaultModel,
  });
}
