/** When a freshly tracked refund gets its first inquiry. */
export function firstPollAt(recordedAt: number, firstDelayMs: number): number {
  return recordedAt + firstDelayMs;
}
