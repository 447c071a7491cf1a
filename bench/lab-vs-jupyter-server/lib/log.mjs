/** Progress goes to stderr; the table goes to stdout. */
export function log(...parts) {
  console.error(`[lvj ${new Date().toISOString().slice(11, 23)}]`, ...parts);
}
