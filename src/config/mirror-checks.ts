import { nextCronTime } from '../jobs/cron.ts';

/** The problems of `vulndb.mirror`, by the setting they concern: URLs that are not http(s), a cron that does not parse. */
export function mirrorProblems(mirror: {
  url?: unknown;
  schedule?: unknown;
}): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  const urls = (Array.isArray(mirror.url) ? mirror.url : [mirror.url]).filter(
    (url): url is string => typeof url === 'string' && url.trim() !== '',
  );
  for (const url of urls) {
    let protocol: string | undefined;
    try {
      protocol = new URL(url.trim()).protocol;
    } catch {
      // Reported below.
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      // The URL itself is not shown: it may hold credentials.
      problems.push({
        key: 'url',
        message: 'must be an absolute http:// or https:// URL (or a list of them)',
      });
    }
  }
  const schedule = typeof mirror.schedule === 'string' ? mirror.schedule.trim() : '';
  if (schedule !== '') {
    try {
      nextCronTime(schedule, Date.now());
    } catch (error) {
      problems.push({
        key: 'schedule',
        message: `not a cron expression (${(error as Error).message}), got ${JSON.stringify(schedule.slice(0, 80))}`,
      });
    }
  }
  return problems;
}
