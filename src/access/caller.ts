/** A permission a robot account holds: in the system (`/`), one project (by name), or all (`*`). */
export interface RobotPermission {
  kind: 'system' | 'project';
  namespace: string;
  resource: string;
  action: string;
}

/** Who is making a request, as established by authentication. */
export type Caller =
  | { readonly kind: 'anonymous'; readonly name: undefined }
  | {
      readonly kind: 'user';
      readonly id: number;
      readonly name: string;
      readonly sysadmin: boolean;
      readonly groupIds: readonly number[];
      readonly source: 'local' | 'ldap' | 'oidc';
    }
  | {
      readonly kind: 'robot';
      readonly id: number;
      /** The full name clients log in with, `robot$…`. */
      readonly name: string;
      /** 0 for system-level robots. */
      readonly projectId: number;
      readonly permissions: readonly RobotPermission[];
    }
  | {
      /** A bearer token: exactly the access it lists, nothing more. */
      readonly kind: 'token';
      readonly name: string;
      readonly access: readonly TokenAccess[];
    };

/** One entry of a registry token's `access` claim. */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

export const anonymous: Caller = { kind: 'anonymous', name: undefined };

export function isSysadmin(caller: Caller): boolean {
  return caller.kind === 'user' && caller.sysadmin;
}
