/** What a request may do to a repository on /v2. */
export type RegistryAction = 'pull' | 'push' | 'delete';

/** Who is asking; anonymous when `name` is undefined. */
export interface Caller {
  readonly name: string | undefined;
}

export const anonymous: Caller = { name: undefined };

/** The one place registry routes ask whether an action is allowed. */
export interface AccessPolicy {
  allows(caller: Caller, repository: string, action: RegistryAction): Promise<boolean>;
  /** May the caller list every repository (`/v2/_catalog`)? */
  allowsCatalog(caller: Caller): Promise<boolean>;
}

/**
 * The policy of a registry configured without authentication (`auth.mode: none`): everyone may
 * do everything. Only for trusted networks; the server warns at start when it is in use.
 */
export class OpenAccessPolicy implements AccessPolicy {
  async allows(): Promise<boolean> {
    return true;
  }

  async allowsCatalog(): Promise<boolean> {
    return true;
  }
}
