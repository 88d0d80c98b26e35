import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { JobRow } from '../../db/jobs.ts';
import { formatJobLog } from '../../jobs/job-log.ts';
import type { QueueAction } from '../../jobs/job-service.ts';
import { RegistryError } from '../../oci/errors.ts';
import { audited } from './audited.ts';
import { requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { ErrorsSchema } from './schemas.ts';

const JobQueue = Type.Object({
  job_type: Type.String(),
  count: Type.Integer({ description: 'jobs waiting to start' }),
  latency: Type.Integer({ description: 'seconds the oldest waiting job has waited' }),
  paused: Type.Boolean(),
});

const ActionRequest = Type.Object({
  action: Type.String({ description: 'stop (cancel the waiting jobs), pause or resume' }),
});

const JobTypeParams = Type.Object({
  job_type: Type.String({ description: "the job type; 'all' stands for every type" }),
});
const JobIdParams = Type.Object({ job_id: Type.String() });

/** Berth's addition: one job's state. */
const Job = Type.Object({
  id: Type.Integer(),
  job_type: Type.String(),
  status: Type.String({
    description: 'queued, running, failed (a retry is due), succeeded, cancelled or error',
  }),
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  creation_time: Type.String({ format: 'date-time' }),
  update_time: Type.String({ format: 'date-time' }),
  run_after: Type.String({ format: 'date-time' }),
  finish_time: Type.Optional(Type.String({ format: 'date-time' })),
  last_error: Type.Optional(Type.String()),
});

const queueActions: readonly QueueAction[] = ['stop', 'pause', 'resume'];

function jobView(job: JobRow) {
  return {
    id: job.id,
    job_type: job.type,
    status: job.status,
    attempts: job.attempts,
    max_attempts: job.max_attempts,
    creation_time: new Date(job.created_at).toISOString(),
    update_time: new Date(job.updated_at).toISOString(),
    run_after: new Date(job.run_after).toISOString(),
    ...(job.finished_at === null ? {} : { finish_time: new Date(job.finished_at).toISOString() }),
    ...(job.last_error === null ? {} : { last_error: job.last_error }),
  };
}

async function findJob(services: ApiServices, id: string): Promise<JobRow> {
  const job = /^\d{1,15}$/.test(id) ? await services.jobs.job(Number(id)) : undefined;
  if (!job) throw new RegistryError('NOT_FOUND', `job ${id} not found`);
  return job;
}

/** Harbor's /jobservice: the background job queues and jobs, system administrators only. */
export async function jobServiceRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  api.get(
    '/jobservice/queues',
    {
      schema: {
        tags: ['jobservice'],
        summary: 'The job queues: waiting jobs per type',
        response: { 200: Type.Array(JobQueue), 401: ErrorsSchema, 403: ErrorsSchema },
      },
    },
    async (request) => {
      requireSystem(services, request, 'jobservice-monitor', 'list');
      const queues = await services.jobs.queues();
      return queues.map((queue) => ({
        job_type: queue.type,
        count: queue.count,
        latency: queue.latencySeconds,
        paused: queue.paused,
      }));
    },
  );

  api.put<{ Params: { job_type: string }; Body: { action: string } }>(
    '/jobservice/queues/:job_type',
    {
      schema: {
        tags: ['jobservice'],
        summary: 'Stop (cancel the waiting jobs of), pause or resume a job queue',
        params: JobTypeParams,
        body: ActionRequest,
        response: {
          200: Type.Null(),
          400: ErrorsSchema,
          401: ErrorsSchema,
          403: ErrorsSchema,
          404: ErrorsSchema,
          422: ErrorsSchema,
        },
      },
    },
    async (request, reply) => {
      const { job_type: jobType } = request.params;
      const action = request.body.action as QueueAction;
      await audited(
        services,
        request,
        { resourceType: 'jobservice-queue', resource: jobType, operation: action },
        async () => {
          requireSystem(services, request, 'jobservice-monitor', 'stop');
          if (!queueActions.includes(action)) {
            throw new RegistryError('BAD_REQUEST', `unsupported action ${request.body.action}`, {
              status: 422,
            });
          }
          const all = jobType === 'all';
          if (!all && !(await services.jobs.queues()).some((queue) => queue.type === jobType)) {
            throw new RegistryError('NOT_FOUND', `job type ${jobType} not found`);
          }
          await services.jobs.queueAction(all ? undefined : jobType, action);
          return { result: undefined };
        },
      );
      return reply.code(200).send();
    },
  );

  api.get<{ Params: { job_id: string } }>(
    '/jobservice/jobs/:job_id',
    {
      schema: {
        tags: ['jobservice'],
        summary: "A job's state (Berth's addition)",
        params: JobIdParams,
        response: { 200: Job, 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema },
      },
    },
    async (request) => {
      requireSystem(services, request, 'jobservice-monitor', 'list');
      return jobView(await findJob(services, request.params.job_id));
    },
  );

  api.put<{ Params: { job_id: string } }>(
    '/jobservice/jobs/:job_id',
    {
      schema: {
        tags: ['jobservice'],
        summary: 'Stop a job: a waiting one is cancelled, a running one is aborted',
        params: JobIdParams,
        response: { 200: Type.Null(), 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema },
      },
    },
    async (request, reply) => {
      await audited(
        services,
        request,
        { resourceType: 'jobservice-job', resource: request.params.job_id, operation: 'stop' },
        async () => {
          requireSystem(services, request, 'jobservice-monitor', 'stop');
          const job = await findJob(services, request.params.job_id);
          // Stopping a finished job changes nothing and is no error.
          await services.jobs.cancel(job.id);
          return { result: undefined };
        },
      );
      return reply.code(200).send();
    },
  );

  api.get<{ Params: { job_id: string } }>(
    '/jobservice/jobs/:job_id/log',
    {
      schema: {
        tags: ['jobservice'],
        summary: "A job's log, as text",
        params: JobIdParams,
        produces: ['text/plain'],
        response: { 200: Type.String(), 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'jobservice-monitor', 'list');
      const job = await findJob(services, request.params.job_id);
      return reply.type('text/plain; charset=utf-8').send(formatJobLog(await services.jobs.logs(job.id)));
    },
  );
}
