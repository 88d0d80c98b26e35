import { type Static, Type } from '@sinclair/typebox';
import type { UserRow } from '../../db/users.ts';
import { ErrorsSchema, isoTime } from './schemas.ts';

/** The request and response shapes of /users (Harbor's UserResp, UserCreationReq, …). */

export const UserResp = Type.Object({
  user_id: Type.Integer(),
  username: Type.String(),
  email: Type.String(),
  realname: Type.String(),
  comment: Type.String(),
  sysadmin_flag: Type.Boolean(),
  admin_role_in_auth: Type.Boolean({ description: 'admin rights granted by LDAP/OIDC group; always false' }),
  creation_time: Type.String(),
  update_time: Type.String(),
});

/** GET /users/current only: an OIDC user's own CLI secret, for registry clients (Harbor's OIDCUserInfo). */
export const CurrentUserResp = Type.Intersect([
  UserResp,
  Type.Object({
    oidc_user_meta: Type.Optional(
      Type.Object({
        id: Type.Integer(),
        user_id: Type.Integer(),
        secret: Type.String(),
        subiss: Type.String(),
        creation_time: Type.String(),
        update_time: Type.String(),
      }),
    ),
  }),
]);

export const UserCreationReq = Type.Object({
  username: Type.Optional(Type.String({ maxLength: 255 })),
  email: Type.Optional(Type.String({ maxLength: 255 })),
  realname: Type.Optional(Type.String()),
  comment: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
});
export type UserCreationReq = Static<typeof UserCreationReq>;

export const UserProfile = Type.Object({
  email: Type.Optional(Type.String()),
  realname: Type.Optional(Type.String()),
  comment: Type.Optional(Type.String()),
});

export const PasswordReq = Type.Object({
  old_password: Type.Optional(Type.String({ description: 'required when changing your own password' })),
  new_password: Type.String(),
});

export const SysadminFlag = Type.Object({ sysadmin_flag: Type.Boolean() });
export const UserId = Type.Object({ user_id: Type.Integer({ minimum: 1 }) });
export const Changed = {
  200: Type.Null(),
  400: ErrorsSchema,
  401: ErrorsSchema,
  403: ErrorsSchema,
  404: ErrorsSchema,
};

export function userJson(user: UserRow): Static<typeof UserResp> {
  return {
    user_id: Number(user.id),
    username: user.username,
    email: user.email ?? '',
    realname: user.realname,
    comment: user.comment,
    sysadmin_flag: user.sysadmin === 1,
    admin_role_in_auth: false,
    creation_time: isoTime(user.created_at),
    update_time: isoTime(user.updated_at),
  };
}

export const sortKeys = {
  user_id: (user: UserRow) => Number(user.id),
  username: (user: UserRow) => user.username,
  email: (user: UserRow) => user.email ?? '',
  realname: (user: UserRow) => user.realname,
  creation_time: (user: UserRow) => Number(user.created_at),
  update_time: (user: UserRow) => Number(user.updated_at),
};
