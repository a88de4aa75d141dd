/** A response body as JSON, or `{ unparsable: text }` when it is not: a test then fails on its assertion, with the text in view. */
export function jsonOrUnparsable(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { unparsable: text };
  }
}
