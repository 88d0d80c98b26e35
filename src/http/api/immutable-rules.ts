import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { RegistryError } from '../../oci/errors.ts';
import type { ImmutableRule } from '../../policy/immutable-match.ts';
import { audited } from './audited.ts';
import { requireProject } from './authz.ts';
import type { ApiServices } from './context.ts';
import { pageOf, pageParams, setPageHeaders } from './pagination.ts';
import { ErrorsSchema, PageQuery } from './schemas.ts';

const ImmutableSelector = Type.Object({
  kind: Type.String({ description: 'doublestar' }),
  decoration: Type.String({
    description: 'matches or excludes (tags); repoMatches or repoExcludes (repositories)',
  }),
  pattern: Type.String({ description: 'doublestar pattern: *, **, ?, [a-z], {a,b}' }),
  extras: Type.Optional(Type.String()),
});

/** Harbor's `ImmutableRule` model. */
const ImmutableRuleSchema = Type.Object({
  id: Type.Optional(Type.Integer()),
  priority: Type.Optional(Type.Integer()),
  disabled: Type.Optional(Type.Boolean()),
  action: Type.Optional(Type.String({ description: 'immutable' })),
  template: Type.Optional(Type.String({ description: 'immutable_template' })),
  params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  tag_selectors: Type.Array(ImmutableSelector, { maxItems: 16 }),
  scope_selectors: Type.Record(Type.String(), Type.Array(ImmutableSelector, { maxItems: 16 }), {
    description: 'repository: the repository selectors',
  }),
});
type ImmutableRuleBody = Static<typeof ImmutableRuleSchema>;

const ProjectParams = Type.Object({ project_name_or_id: Type.String() });
const RuleParams = Type.Object({ project_name_or_id: Type.String(), immutable_rule_id: Type.Integer() });
const Refusals = { 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema };

function ruleJson(rule: ImmutableRule) {
  return {
    id: rule.id,
    priority: rule.priority,
    disabled: rule.disabled,
    action: rule.action,
    template: rule.template,
    params: rule.params ?? {},
    tag_selectors: rule.tag_selectors,
    scope_selectors: rule.scope_selectors,
  };
}

function ruleInput(body: ImmutableRuleBody) {
  return {
    priority: body.priority,
    disabled: body.disabled ?? false,
    action: body.action,
    template: body.template,
    params: body.params,
    tag_selectors: body.tag_selectors,
    scope_selectors: body.scope_selectors,
  };
}

/** Harbor's /projects/{p}/immutabletagrules: the rules that make matching tags immutable. */
export async function immutableRuleRoutes(api: FastifyInstance, services: ApiServices): Promise<void> {
  const project = (request: FastifyRequest, action: 'list' | 'create' | 'update' | 'delete') =>
    requireProject(
      services,
      request,
      (request.params as Static<typeof ProjectParams>).project_name_or_id,
      'immutable-tag',
      action,
    );
  const attempt = (request: FastifyRequest, operation: string) => {
    const { project_name_or_id, immutable_rule_id } = request.params as {
      project_name_or_id: string;
      immutable_rule_id?: number;
    };
    const resource =
      immutable_rule_id === undefined
        ? project_name_or_id
        : `${project_name_or_id}/immutabletagrules/${immutable_rule_id}`;
    return { resourceType: 'immutable-tag-rule', resource, operation };
  };

  api.get(
    '/projects/:project_name_or_id/immutabletagrules',
    {
      schema: {
        tags: ['immutable'],
        summary: "A project's immutable tag rules",
        params: ProjectParams,
        querystring: Type.Pick(PageQuery, ['page', 'page_size']),
        response: { 200: Type.Array(ImmutableRuleSchema), ...Refusals },
      },
    },
    async (request, reply) => {
      const params = pageParams(request.query as { page?: number; page_size?: number });
      const rules = await services.immutability.list(await project(request, 'list'));
      setPageHeaders(request, reply, params, rules.length);
      return pageOf(rules, params).map(ruleJson);
    },
  );

  api.post(
    '/projects/:project_name_or_id/immutabletagrules',
    {
      schema: {
        tags: ['immutable'],
        summary: 'Add an immutable tag rule to the project',
        params: ProjectParams,
        body: ImmutableRuleSchema,
        response: { 201: Type.Null(), ...Refusals, 409: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const body = request.body as ImmutableRuleBody;
      const id = await audited(services, request, attempt(request, 'create'), async () => {
        const target = await project(request, 'create');
        const created = await services.immutability.create(target, ruleInput(body));
        return {
          result: created,
          facts: { resource: `${target.name}/immutabletagrules/${created}`, projectId: target.id },
        };
      });
      return reply
        .code(201)
        .header('location', `${request.url.split('?', 1)[0]!.replace(/\/$/, '')}/${id}`)
        .send();
    },
  );

  api.put(
    '/projects/:project_name_or_id/immutabletagrules/:immutable_rule_id',
    {
      schema: {
        tags: ['immutable'],
        summary: 'Update the immutable tag rule, or enable or disable it',
        params: RuleParams,
        body: ImmutableRuleSchema,
        response: { 200: Type.Null(), ...Refusals, 409: ErrorsSchema },
      },
    },
    async (request, reply) => {
      const { immutable_rule_id } = request.params as Static<typeof RuleParams>;
      const body = request.body as ImmutableRuleBody;
      // Harbor's check, word for word: the body names the rule it changes.
      if (body.id !== immutable_rule_id) {
        throw new RegistryError(
          'BAD_REQUEST',
          "the immutable_rule_id doesn't match the id in the payload body of ImmutableRule",
        );
      }
      await audited(services, request, attempt(request, 'update'), async () => {
        const target = await project(request, 'update');
        await services.immutability.update(target, immutable_rule_id, ruleInput(body));
        return { result: undefined, facts: { projectId: target.id } };
      });
      return reply.code(200).send();
    },
  );

  api.delete(
    '/projects/:project_name_or_id/immutabletagrules/:immutable_rule_id',
    {
      schema: {
        tags: ['immutable'],
        summary: 'Delete the immutable tag rule',
        params: RuleParams,
        response: { 200: Type.Null(), ...Refusals },
      },
    },
    async (request, reply) => {
      const { immutable_rule_id } = request.params as Static<typeof RuleParams>;
      await audited(services, request, attempt(request, 'delete'), async () => {
        const target = await project(request, 'delete');
        await services.immutability.delete(target, immutable_rule_id);
        return { result: undefined, facts: { projectId: target.id } };
      });
      return reply.code(200).send();
    },
  );
}
