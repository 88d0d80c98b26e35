import { type Static, Type } from '@sinclair/typebox';
import type { RobotPermission } from '../../access/caller.ts';
import type { Robot } from '../../access/robot-service.ts';
import { RegistryError } from '../../oci/errors.ts';
import { ErrorsSchema, isoTime } from './schemas.ts';

/** Harbor's robot models (RobotCreate, Robot, RobotCreated, RobotSec) and their mapping. */

const Access = Type.Object({
  resource: Type.String({ minLength: 1 }),
  action: Type.String({ minLength: 1 }),
  effect: Type.Optional(Type.String({ description: 'only "allow" (or empty) is supported' })),
});

export const RobotPermissionSchema = Type.Object({
  kind: Type.String({ description: '"system" or "project"' }),
  namespace: Type.String({ description: '"/" for system permissions; a project name or "*"' }),
  access: Type.Array(Access),
});
type RobotPermissionJson = Static<typeof RobotPermissionSchema>;

export const RobotCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    secret: Type.Optional(Type.String()),
    level: Type.String({ description: '"system" or "project"' }),
    disable: Type.Optional(Type.Boolean()),
    duration: Type.Optional(Type.Integer({ description: 'days; -1 never expires' })),
    permissions: Type.Array(RobotPermissionSchema),
  },
  { additionalProperties: true },
);
export type RobotCreate = Static<typeof RobotCreate>;

export const RobotUpdate = Type.Object(
  {
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    level: Type.Optional(Type.String()),
    disable: Type.Optional(Type.Boolean()),
    duration: Type.Optional(Type.Integer()),
    permissions: Type.Optional(Type.Array(RobotPermissionSchema)),
  },
  { additionalProperties: true },
);
export type RobotUpdate = Static<typeof RobotUpdate>;

export const RobotJson = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  level: Type.String(),
  duration: Type.Integer(),
  editable: Type.Boolean(),
  disable: Type.Boolean(),
  expires_at: Type.Integer({ description: 'epoch seconds; -1 never' }),
  permissions: Type.Array(RobotPermissionSchema),
  creation_time: Type.String(),
  update_time: Type.String(),
});

export const RobotCreated = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  secret: Type.String({ description: 'shown only here' }),
  creation_time: Type.String(),
  expires_at: Type.Integer(),
});

export const RobotSec = Type.Object({ secret: Type.Optional(Type.String()) }, { additionalProperties: true });

export const RobotId = Type.Object({ robot_id: Type.Integer({ minimum: 1 }) });

export const errors = { 400: ErrorsSchema, 401: ErrorsSchema, 403: ErrorsSchema, 404: ErrorsSchema };

/** Harbor's nested permissions (`kind`, `namespace`, `access[]`) as flat grants. */
export function flatten(permissions: readonly RobotPermissionJson[]): RobotPermission[] {
  const flat: RobotPermission[] = [];
  for (const permission of permissions) {
    if (permission.access.length === 0) throw new RegistryError('BAD_REQUEST', 'bad request empty access');
    for (const access of permission.access) {
      if (access.effect !== undefined && access.effect !== '' && access.effect !== 'allow') {
        throw new RegistryError('BAD_REQUEST', `bad request permission effect: ${access.effect}`);
      }
      flat.push({
        kind: permission.kind as RobotPermission['kind'],
        namespace: permission.namespace,
        resource: access.resource,
        action: access.action,
      });
    }
  }
  return flat;
}

function nest(permissions: readonly RobotPermission[]): RobotPermissionJson[] {
  const groups = new Map<string, RobotPermissionJson>();
  for (const { kind, namespace, resource, action } of permissions) {
    const key = `${kind}\0${namespace}`;
    const group = groups.get(key) ?? { kind, namespace, access: [] };
    groups.set(key, group);
    group.access.push({ resource, action });
  }
  return [...groups.values()];
}

export function robotJson(robot: Robot): Static<typeof RobotJson> {
  return {
    id: robot.id,
    name: robot.name,
    description: robot.description,
    level: robot.level,
    duration: robot.duration,
    editable: true,
    disable: robot.disabled,
    expires_at: robot.expiresAt,
    permissions: nest(robot.permissions),
    creation_time: isoTime(robot.createdAt),
    update_time: isoTime(robot.updatedAt),
  };
}
