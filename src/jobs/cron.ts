import { CronExpressionParser } from 'cron-parser';

/**
 * The first time strictly after `after` (epoch ms) that `cron` names, in UTC. Five fields
 * (minute …) or six (second first, as Harbor's schedules write them). Throws on a bad expression.
 */
export function nextCronTime(cron: string, after: number): number {
  const expression = CronExpressionParser.parse(cron, {
    currentDate: new Date(after),
    tz: 'UTC',
    strict: false,
  });
  return expression.next().getTime();
}
