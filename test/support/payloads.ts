/** Every payload in a history, as text: what an operator without the key would see. */
export function payloadText(history: unknown): string {
  const found: string[] = [];
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    if (node instanceof Uint8Array) {
      found.push(Buffer.from(node).toString('utf8'));
      return;
    }
    for (const value of Object.values(node)) walk(value);
  };
  walk(history);
  return found.join('\n');
}
