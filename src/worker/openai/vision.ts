// Whether the model is given the images the person sends (OPENAI_VISION). A model that does not
// see images refuses a request with one (or, worse, some servers drop it silently), so `auto`
// trusts only a table of model families known to take images in chat completions; any other
// model gets the image's path in the message text, which it can still work with through tools.

/** How OPENAI_VISION decides: from the table (`auto`), or always (`on`) or never (`off`). */
export type VisionSetting = 'auto' | 'on' | 'off';

/**
 * Model names that take images, matched against the name in lower case without its provider
 * prefix (`openai/`, `google/`, `meta-llama/`, ...). Conservative: a family enters only where
 * every model it matches takes images, so text-only siblings are kept out by the pattern.
 */
const SEEING_MODELS: readonly RegExp[] = [
  /^gpt-4o/, // gpt-4o, gpt-4o-mini and dated versions
  /^chatgpt-4o/,
  /^gpt-4\.1/, // gpt-4.1, -mini, -nano
  /^gpt-4-turbo(?:$|-\d{4}-\d{2}-\d{2})/, // not gpt-4-turbo-preview, which is text only
  /^gpt-5/,
  /^o1(?:$|-(?!mini|preview))/, // o1, o1-pro; o1-mini and o1-preview see no images
  /^o3(?:$|-(?!mini))/, // o3, o3-pro; o3-mini sees no images
  /^o4-mini/,
  /^claude-3/, // claude-3-haiku ... claude-3-7-sonnet, and claude-3.5-sonnet as routers spell it
  /^claude-(?:[a-z]+-)?4/, // claude-sonnet-4, claude-opus-4-1, claude-haiku-4-5, claude-4-sonnet
  /^gemini-(?:1\.5|2|3)/,
  /^gemma-?3(?![\dn])(?!.*(?:\b|[-:_])(?:1b|270m)\b)/, // gemma 3 from 4b up; 1b, 270m and 3n are text only
  /^grok-2-vision/,
  /^grok-4/,
  /^pixtral/,
  /^mistral-small-?3\.[1-9]/, // 3.1 and later; 3.0 is text only
  /^mistral-small-(?:250[3-9]|25[1-9]\d|2[6-9]\d\d)/, // dated: 2503 is 3.1
  /^mistral-medium-?3/,
  /^mistral-medium-(?:250[5-9]|25[1-9]\d|2[6-9]\d\d)/, // dated: 2505 is medium 3
  /^llava/,
  /^qwen[\d.]*-?vl/, // qwen-vl-max, qwen2-vl, qwen2.5-vl, qwen2.5vl (Ollama), qwen3-vl
  /^llama-?3\.2-.*vision/, // llama-3.2-11b-vision-instruct, llama3.2-vision (Ollama)
  /^llama-?4/,
];

/** Variants of seeing families that take no images in chat completions (audio, speech, search). */
const NOT_SEEING = /(?:audio|realtime|transcribe|tts|embed|search)/;

/** Whether the model is given images: `on`/`off` as set, `auto` from the table of known models. */
export function acceptsImages(model: string, setting: VisionSetting): boolean {
  if (setting !== 'auto') return setting === 'on';
  const name = model.toLowerCase().replace(/^.*\//, '');
  return !NOT_SEEING.test(name) && SEEING_MODELS.some((pattern) => pattern.test(name));
}
