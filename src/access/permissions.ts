/**
 * The permission vocabulary and matrix, as data (Harbor's meanings): every decision in Berth is
 * `can(subject, scope, resource, action)` evaluated against these tables, nowhere else.
 */

export const actions = [
  'create',
  'read',
  'update',
  'delete',
  'list',
  'pull',
  'push',
  'operate',
  'stop',
] as const;
export type Action = (typeof actions)[number];

/** Resources inside a project. `project` is the project itself (Harbor's empty sub-resource). */
export const projectResources = [
  'project',
  'member',
  'metadata',
  'log',
  'label',
  'quota',
  'repository',
  'tag-retention',
  'immutable-tag',
  'configuration',
  'robot',
  'notification-policy',
  'scan',
  'scanner',
  'artifact',
  'artifact-addition',
  'tag',
  'accessory',
  'artifact-label',
  'preheat-policy',
  'sbom',
] as const;
export type ProjectResource = (typeof projectResources)[number];

/** Resources of the whole system; only system administrators (and system robots) hold them. */
export const systemResources = [
  'audit-log',
  'catalog',
  'project',
  'user',
  'user-group',
  'ldap-user',
  'configuration',
  'robot',
  'label',
  'scanner',
  'scan-all',
  'garbage-collection',
  'quota',
  'registry',
  'replication',
  'replication-policy',
  'jobservice-monitor',
] as const;
export type SystemResource = (typeof systemResources)[number];

/** Harbor's project role ids. */
export const roles = { projectAdmin: 1, developer: 2, guest: 3, maintainer: 4, limitedGuest: 5 } as const;
export type RoleName = keyof typeof roles;
export type RoleId = (typeof roles)[RoleName];

export function roleName(id: number): RoleName | undefined {
  return (Object.keys(roles) as RoleName[]).find((name) => roles[name] === id);
}

type Grants = Partial<Record<ProjectResource, readonly Action[]>>;

const all = ['create', 'read', 'update', 'delete', 'list'] as const;

/** What each project role may do (Harbor's rbac_role.go). */
export const rolePolicies: Record<RoleName, Grants> = {
  projectAdmin: {
    project: ['read', 'update', 'delete'],
    member: all,
    metadata: ['create', 'read', 'update', 'delete', 'list'],
    log: ['list'],
    label: all,
    quota: ['read'],
    repository: [...all, 'pull', 'push'],
    'tag-retention': [...all, 'operate'],
    'immutable-tag': ['create', 'update', 'delete', 'list'],
    configuration: ['read', 'update'],
    robot: all,
    'notification-policy': all,
    scan: ['create', 'read', 'stop'],
    scanner: ['read', 'create'],
    artifact: ['create', 'read', 'delete', 'list'],
    'artifact-addition': ['read'],
    tag: ['list', 'create', 'delete'],
    accessory: ['list'],
    'artifact-label': ['create', 'delete'],
    'preheat-policy': all,
    sbom: ['create', 'read', 'stop'],
  },
  maintainer: {
    project: ['read'],
    member: ['read', 'list'],
    metadata: ['create', 'read', 'update', 'delete'],
    log: ['list'],
    label: all,
    quota: ['read'],
    repository: [...all, 'pull', 'push'],
    'tag-retention': [...all, 'operate'],
    'immutable-tag': ['create', 'update', 'delete', 'list'],
    configuration: ['read'],
    robot: ['read', 'list'],
    'notification-policy': ['read', 'list'],
    scan: ['create', 'read', 'stop'],
    scanner: ['read'],
    artifact: ['create', 'read', 'delete', 'list'],
    'artifact-addition': ['read'],
    tag: ['list', 'create', 'delete'],
    accessory: ['list'],
    'artifact-label': ['create', 'delete'],
    sbom: ['create', 'read', 'stop'],
  },
  developer: {
    project: ['read'],
    member: ['read', 'list'],
    log: ['list'],
    label: ['read', 'list'],
    quota: ['read'],
    repository: ['create', 'read', 'update', 'list', 'pull', 'push'],
    'tag-retention': [...all, 'operate'],
    configuration: ['read'],
    robot: ['read', 'list'],
    scan: ['read'],
    scanner: ['read'],
    artifact: ['create', 'read', 'list'],
    'artifact-addition': ['read'],
    tag: ['list', 'create'],
    accessory: ['list'],
    'artifact-label': ['create', 'delete'],
    sbom: ['read'],
  },
  guest: {
    project: ['read'],
    member: ['read', 'list'],
    log: ['list'],
    label: ['read', 'list'],
    quota: ['read'],
    repository: ['read', 'list', 'pull'],
    configuration: ['read'],
    robot: ['read', 'list'],
    scan: ['read'],
    scanner: ['read'],
    artifact: ['read', 'list'],
    'artifact-addition': ['read'],
    tag: ['list'],
    accessory: ['list'],
    sbom: ['read'],
  },
  limitedGuest: {
    project: ['read'],
    quota: ['read'],
    repository: ['read', 'list', 'pull'],
    configuration: ['read'],
    scan: ['read'],
    scanner: ['read'],
    artifact: ['read', 'list'],
    'artifact-addition': ['read'],
    tag: ['list'],
    accessory: ['list'],
    sbom: ['read'],
  },
};

/** What anyone, anonymous included, may do in a public project. */
export const publicProjectPolicy: Grants = {
  project: ['read'],
  label: ['read', 'list'],
  repository: ['list', 'pull'],
  scan: ['read'],
  scanner: ['read'],
  artifact: ['read', 'list'],
  'artifact-addition': ['read'],
  tag: ['list'],
  accessory: ['list'],
};

/**
 * Every action on each system resource (Harbor's system namespace): what
 * `/users/current/permissions?scope=/system` checks the caller against.
 */
export const systemPolicies: Partial<Record<SystemResource, readonly Action[]>> = {
  'audit-log': ['list'],
  catalog: ['read'],
  project: ['list', 'create'],
  user: all,
  'user-group': all,
  'ldap-user': ['create', 'list'],
  configuration: ['read', 'update'],
  robot: all,
  label: all,
  scanner: all,
  'scan-all': ['read', 'update', 'stop', 'create'],
  'garbage-collection': ['read', 'create', 'list', 'update', 'stop'],
  quota: ['read', 'list', 'update'],
  registry: all,
  replication: ['read', 'create', 'list'],
  'replication-policy': all,
  'jobservice-monitor': ['list', 'stop'],
};

/**
 * The permissions a robot account may be given (Harbor's PoliciesMap): anything else is refused
 * when the robot is created or updated. Robots never manage members or other robots.
 */
export const robotGrantable: { system: Partial<Record<SystemResource, readonly Action[]>>; project: Grants } =
  {
    system: {
      'audit-log': ['list'],
      catalog: ['read'],
      project: ['list', 'create'],
      quota: ['read', 'list'],
      label: ['read', 'create', 'delete', 'update'],
      scanner: ['read', 'create', 'delete', 'list', 'update'],
      'scan-all': ['read', 'update', 'stop', 'create'],
      'garbage-collection': ['read', 'create', 'list', 'update', 'stop'],
      registry: ['read', 'create', 'delete', 'list', 'update'],
      replication: ['read', 'create', 'list'],
      'replication-policy': ['read', 'create', 'delete', 'list', 'update'],
    },
    project: {
      log: ['list'],
      project: ['read', 'delete', 'update'],
      metadata: ['read', 'create', 'delete', 'list', 'update'],
      quota: ['read'],
      label: ['read', 'create', 'delete', 'list', 'update'],
      repository: ['read', 'update', 'delete', 'list', 'pull', 'push'],
      artifact: ['read', 'create', 'list', 'delete'],
      tag: ['create', 'list', 'delete'],
      accessory: ['list'],
      'artifact-addition': ['read'],
      'artifact-label': ['create', 'delete'],
      scan: ['create', 'read', 'stop'],
      scanner: ['create', 'read'],
      'immutable-tag': ['read', 'create', 'delete', 'list', 'update'],
      'tag-retention': ['read', 'create', 'delete', 'list', 'update'],
      'notification-policy': ['read', 'create', 'delete', 'list', 'update'],
      'preheat-policy': ['read', 'create', 'delete', 'list', 'update'],
      sbom: ['create', 'read', 'stop'],
    },
  };

export function grants(policy: Grants, resource: ProjectResource, action: Action): boolean {
  return policy[resource]?.includes(action) ?? false;
}
