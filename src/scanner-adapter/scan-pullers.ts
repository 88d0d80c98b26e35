/**
 * The identities Berth's own scan credentials pull with (`issueScanCredential`), so pull-time
 * policies let a scanner fetch the image it must judge: an unscanned image would otherwise be
 * refused for being unscanned. Kept in memory, not in the robot's name or description, which a
 * project admin could copy for a robot of their own; only this process's scans are recognised
 * (a cluster needs a shared marker, as on the robot row).
 */
const live = new Map<string, number>();

export const scanPullers = {
  add(login: string, expiresAtMs: number): void {
    live.set(login, expiresAtMs);
  },
  delete(login: string): void {
    live.delete(login);
  },
  /** Whether `login` is a scan credential this process issued and has not ended or let expire. */
  has(login: string | undefined, nowMs: number): boolean {
    if (login === undefined) return false;
    const expiresAt = live.get(login);
    if (expiresAt === undefined) return false;
    if (expiresAt > nowMs) return true;
    live.delete(login);
    return false;
  },
};
