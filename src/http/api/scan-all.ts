import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { nextCronTime } from '../../jobs/cron.ts';
import { RegistryError } from '../../oci/errors.ts';
import type { RepeatingScheduleType } from '../../scan/scan-all.ts';
import { audited } from './audited.ts';
import { requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { ErrorsSchema, isoTime } from './schemas.ts';

const scheduleTypes = ['Hourly', 'Daily', 'Weekly', 'Custom', 'Manual', 'None'] as const;
type ScheduleType = (typeof scheduleTypes)[number];

/** The cron Harbor's UI sends for each preset (six fields, seconds first), used when none is given. */
const presetCrons: Record<Exclude<RepeatingScheduleType, 'Custom'>, string> = {
  Hourly: '0 0 * * * *',
  Daily: '0 0 0 * * *',
  Weekly: '0 0 0 * * 0',
};

const ScheduleObj = Type.Object({
  type: Type.Optional(Type.String({ description: scheduleTypes.join(', ') })),
  cron: Type.Optional(Type.String({ description: 'six fields (seconds first) or five; UTC' })),
  next_scheduled_time: Type.Optional(Type.String({ format: 'date-time' })),
});

const ScheduleBody = Type.Object({ schedule: ScheduleObj }, { additionalProperties: true });

/** Harbor's Schedule; `{}` when there is none. */
const ScheduleResponse = Type.Object({
  schedule: Type.Optional(ScheduleObj),
  creation_time: Type.Optional(Type.String({ format: 'date-time' })),
  update_time: Type.Optional(Type.String({ format: 'date-time' })),
});

const Stats = Type.Object({
  total: Type.Optional(Type.Integer({ description: 'scans the run asked for' })),
  completed: Type.Optional(Type.Integer({ description: 'of those, the finished ones' })),
  metrics: Type.Optional(Type.Record(Type.String(), Type.Integer(), { description: 'scans per status' })),
  ongoing: Type.Optional(Type.Boolean()),
  trigger: Type.Optional(Type.String({ description: 'Manual or Schedule' })),
});

const refusals = { 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema };

/** The schedule type and cron a body asks for, checked: 400 for an unknown type or a bad cron. */
function requestedSchedule(body: Static<typeof ScheduleBody>): { type: ScheduleType; cron: string } {
  const type = body.schedule.type as ScheduleType;
  if (!scheduleTypes.includes(type)) {
    throw new RegistryError(
      'BAD_REQUEST',
      `schedule type ${JSON.stringify(String(body.schedule.type).slice(0, 40))} is not one of ${scheduleTypes.join(', ')}`,
    );
  }
  let cron = body.schedule.cron?.trim() ?? '';
  if (type === 'Manual' || type === 'None') return { type, cron };
  if (cron === '') {
    if (type === 'Custom') throw new RegistryError('BAD_REQUEST', 'a Custom schedule needs a cron');
    cron = presetCrons[type];
  }
  try {
    nextCronTime(cron, Date.now());
  } catch (error) {
    throw new RegistryError(
      'BAD_REQUEST',
      `invalid cron ${JSON.stringify(cron.slice(0, 80))}: ${(error as Error).message}`,
    );
  }
  return { type, cron };
}

/** Harbor's scan all: its schedule, a manual run, stopping it, and the latest runs' progress. */
export async function scanAllRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/system/scanAll/schedule',
    {
      schema: {
        tags: ['scanAll'],
        summary: "Scan all's schedule ({} when there is none)",
        response: { 200: ScheduleResponse, 401: ErrorsSchema, 403: ErrorsSchema },
      },
    },
    async (request) => {
      requireSystem(services, request, 'scan-all', 'read');
      const schedule = await services.scanAll.schedule();
      if (!schedule) return {};
      return {
        schedule: {
          type: schedule.type,
          cron: schedule.cron,
          next_scheduled_time: isoTime(schedule.nextRunAt),
        },
        creation_time: isoTime(schedule.updatedAt),
        update_time: isoTime(schedule.updatedAt),
      };
    },
  );

  api.post<{ Body: Static<typeof ScheduleBody> }>(
    '/system/scanAll/schedule',
    {
      schema: {
        tags: ['scanAll'],
        summary: 'Create the scan-all schedule, or (type Manual) scan every artifact now',
        body: ScheduleBody,
        response: { 201: Type.Null(), ...refusals, 409: ErrorsSchema, 412: ErrorsSchema },
      },
    },
    async (request, reply) => {
      await audited(
        services,
        request,
        { resourceType: 'scan-all', resource: 'scan-all', operation: 'create' },
        async () => {
          requireSystem(services, request, 'scan-all', 'create');
          const { type, cron } = requestedSchedule(request.body);
          if (type === 'None') return { result: undefined };
          if (type === 'Manual') {
            if (await services.scanAll.ongoing('Manual')) {
              throw new RegistryError('CONFLICT', 'a previous scan all run is still going');
            }
            const run = await services.scanAll.startManual();
            return { result: undefined, facts: { detail: `manual run ${run.id}` } };
          }
          if (await services.scanAll.schedule()) {
            throw new RegistryError(
              'PRECONDITION',
              'scan all already has a schedule: change it with PUT, or remove it (type None) first',
            );
          }
          await services.scanAll.setSchedule(type, cron);
          return { result: undefined, facts: { detail: `${type} ${cron}` } };
        },
      );
      return reply.code(201).send();
    },
  );

  api.put<{ Body: Static<typeof ScheduleBody> }>(
    '/system/scanAll/schedule',
    {
      schema: {
        tags: ['scanAll'],
        summary: "Change scan all's schedule (type None removes it)",
        body: ScheduleBody,
        response: { 200: Type.Null(), ...refusals },
      },
    },
    async (request, reply) => {
      await audited(
        services,
        request,
        { resourceType: 'scan-all', resource: 'scan-all', operation: 'update' },
        async () => {
          requireSystem(services, request, 'scan-all', 'update');
          const { type, cron } = requestedSchedule(request.body);
          if (type === 'Manual') {
            throw new RegistryError('BAD_REQUEST', 'a schedule cannot be of type Manual: POST it instead');
          }
          if (type === 'None') await services.scanAll.removeSchedule();
          else await services.scanAll.setSchedule(type, cron);
          return { result: undefined, facts: { detail: type === 'None' ? 'removed' : `${type} ${cron}` } };
        },
      );
      return reply.code(200).send();
    },
  );

  api.post(
    '/system/scanAll/stop',
    {
      schema: {
        tags: ['scanAll'],
        summary: 'Stop the latest scan all run and the scans it asked for that have not finished',
        response: { 202: Type.Null(), ...refusals },
      },
    },
    async (request, reply) => {
      await audited(
        services,
        request,
        { resourceType: 'scan-all', resource: 'scan-all', operation: 'stop' },
        async () => {
          requireSystem(services, request, 'scan-all', 'stop');
          if (!(await services.scanAll.stopLatest())) {
            throw new RegistryError('BAD_REQUEST', 'no scan all run was found');
          }
          return { result: undefined };
        },
      );
      return reply.code(202).send();
    },
  );

  for (const [path, trigger, summary] of [
    ['/scans/all/metrics', undefined, 'The progress of the latest scan all run'],
    ['/scans/schedule/metrics', 'Schedule', 'The progress of the latest scheduled scan all run'],
  ] as const) {
    api.get(
      path,
      {
        schema: {
          tags: ['scanAll'],
          summary,
          response: { 200: Stats, 401: ErrorsSchema, 403: ErrorsSchema },
        },
      },
      async (request) => {
        requireSystem(services, request, 'scan-all', 'read');
        return services.scanAll.latestStats(trigger);
      },
    );
  }
}
