import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { audited } from './audited.ts';
import { requireProject, requireSystem } from './authz.ts';
import type { ApiServices } from './context.ts';
import { ErrorsSchema } from './schemas.ts';

const errors = {
  400: ErrorsSchema,
  401: ErrorsSchema,
  403: ErrorsSchema,
  404: ErrorsSchema,
  409: ErrorsSchema,
};

const Registration = Type.Object({
  uuid: Type.String(),
  name: Type.String(),
  description: Type.String(),
  url: Type.String(),
  disabled: Type.Boolean(),
  is_default: Type.Boolean(),
  auth: Type.String(),
  skip_certVerify: Type.Boolean(),
  use_internal_addr: Type.Boolean(),
  create_time: Type.Optional(Type.String()),
  update_time: Type.Optional(Type.String()),
  adapter: Type.Optional(Type.String()),
  vendor: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
});

const RegistrationReq = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128 }),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  url: Type.String({ minLength: 1, maxLength: 512 }),
  auth: Type.Optional(Type.String({ description: "'', Basic, Bearer or X-ScannerAdapter-API-Key" })),
  access_credential: Type.Optional(
    Type.String({ maxLength: 512, description: 'write-only; sealed at rest' }),
  ),
  skip_certVerify: Type.Optional(Type.Boolean()),
  use_internal_addr: Type.Optional(Type.Boolean()),
  disabled: Type.Optional(Type.Boolean()),
});
const Settings = Type.Omit(Type.Partial(RegistrationReq), []);
const Metadata = Type.Record(Type.String(), Type.Unknown());
const RegistrationParams = Type.Object({ registration_id: Type.String() });
const ProjectParams = Type.Object({ project_name_or_id: Type.String() });

/** Harbor's /scanners (system administrators) and each project's scanner. */
export async function scannerRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  const registrations = services.scanners;

  api.get(
    '/scanners',
    {
      schema: {
        tags: ['scanner'],
        summary: 'The scanner registrations, the built-in one first',
        response: { 200: Type.Array(Registration), ...errors },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'scanner', 'list');
      const all = await registrations.list();
      return reply.header('x-total-count', String(all.length)).send(all);
    },
  );

  api.post(
    '/scanners',
    {
      schema: {
        tags: ['scanner'],
        summary: 'Register a scanner adapter',
        body: RegistrationReq,
        response: { 201: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof RegistrationReq>;
      const facts = { resourceType: 'scanner', resource: body.name.slice(0, 128), operation: 'create' };
      const uuid = await audited(services, request, facts, async () => {
        requireSystem(services, request, 'scanner', 'create');
        return { result: await registrations.create(body) };
      });
      return reply.code(201).header('location', `/api/v2.0/scanners/${uuid}`).send();
    },
  );

  api.post(
    '/scanners/ping',
    {
      schema: {
        tags: ['scanner'],
        summary: "Check an adapter's settings by fetching its metadata",
        body: Settings,
        response: { 200: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'scanner', 'read');
      const body = request.body as Static<typeof Settings>;
      await registrations.ping({ ...body, url: body.url ?? '' });
      return reply.code(200).send();
    },
  );

  api.get(
    '/scanners/:registration_id',
    {
      schema: {
        tags: ['scanner'],
        summary: 'One scanner registration',
        params: RegistrationParams,
        response: { 200: Registration, ...errors },
      },
    },
    async (request) => {
      requireSystem(services, request, 'scanner', 'read');
      return registrations.get((request.params as Static<typeof RegistrationParams>).registration_id);
    },
  );

  api.put(
    '/scanners/:registration_id',
    {
      schema: {
        tags: ['scanner'],
        summary: 'Change a scanner registration',
        params: RegistrationParams,
        body: RegistrationReq,
        response: { 200: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { registration_id: uuid } = request.params as Static<typeof RegistrationParams>;
      const facts = { resourceType: 'scanner', resource: uuid.slice(0, 64), operation: 'update' };
      await audited(services, request, facts, async () => {
        requireSystem(services, request, 'scanner', 'update');
        return { result: await registrations.update(uuid, request.body as Static<typeof RegistrationReq>) };
      });
      return reply.code(200).send();
    },
  );

  api.delete(
    '/scanners/:registration_id',
    {
      schema: {
        tags: ['scanner'],
        summary: 'Remove a scanner registration (not the built-in one)',
        params: RegistrationParams,
        response: { 200: Registration, ...errors },
      },
    },
    async (request) => {
      const { registration_id: uuid } = request.params as Static<typeof RegistrationParams>;
      const facts = { resourceType: 'scanner', resource: uuid.slice(0, 64), operation: 'delete' };
      return audited(services, request, facts, async () => {
        requireSystem(services, request, 'scanner', 'delete');
        const removed = await registrations.delete(uuid);
        return { result: removed, facts: { resource: removed.name } };
      });
    },
  );

  api.patch(
    '/scanners/:registration_id',
    {
      schema: {
        tags: ['scanner'],
        summary: 'Make a scanner the default',
        params: RegistrationParams,
        body: Type.Object({ is_default: Type.Boolean() }),
        response: { 200: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      requireSystem(services, request, 'scanner', 'update');
      const { registration_id: uuid } = request.params as Static<typeof RegistrationParams>;
      // Harbor only sets a default here; `false` changes nothing.
      if ((request.body as { is_default: boolean }).is_default) await registrations.setDefault(uuid);
      return reply.code(200).send();
    },
  );

  api.get(
    '/scanners/:registration_id/metadata',
    {
      schema: {
        tags: ['scanner'],
        summary: "The adapter's metadata and capabilities",
        params: RegistrationParams,
        response: { 200: Metadata, ...errors },
      },
    },
    async (request) => {
      requireSystem(services, request, 'scanner', 'read');
      return registrations.metadata((request.params as Static<typeof RegistrationParams>).registration_id);
    },
  );

  api.get(
    '/projects/:project_name_or_id/scanner',
    {
      schema: {
        tags: ['project'],
        summary: 'The scanner the project uses',
        params: ProjectParams,
        response: { 200: Registration, ...errors },
      },
    },
    async (request) => {
      const { project_name_or_id: nameOrId } = request.params as Static<typeof ProjectParams>;
      const project = await requireProject(services, request, nameOrId, 'scanner', 'read');
      return registrations.ofProject(project.id);
    },
  );

  api.put(
    '/projects/:project_name_or_id/scanner',
    {
      schema: {
        tags: ['project'],
        summary: 'Choose the scanner the project uses',
        params: ProjectParams,
        body: Type.Object({ uuid: Type.String() }),
        response: { 200: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      const { project_name_or_id: nameOrId } = request.params as Static<typeof ProjectParams>;
      const project = await requireProject(services, request, nameOrId, 'scanner', 'create');
      await registrations.setProjectScanner(project.id, (request.body as { uuid: string }).uuid);
      return reply.code(200).send();
    },
  );

  api.get(
    '/projects/:project_name_or_id/scanner/candidates',
    {
      schema: {
        tags: ['project'],
        summary: 'The scanners the project may choose',
        params: ProjectParams,
        response: { 200: Type.Array(Registration), ...errors },
      },
    },
    async (request, reply) => {
      const { project_name_or_id: nameOrId } = request.params as Static<typeof ProjectParams>;
      await requireProject(services, request, nameOrId, 'scanner', 'create');
      const candidates = await registrations.candidates();
      return reply.header('x-total-count', String(candidates.length)).send(candidates);
    },
  );
}
