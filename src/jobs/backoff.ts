/**
 * How long to wait before the attempt after `attempt` (1-based): exponential from `baseMs`,
 * capped at `maxMs`, with "equal jitter" (half fixed, half random) so jobs that failed together
 * do not all retry at the same moment.
 */
export function retryDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}
