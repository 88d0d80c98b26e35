/** Harbor's rules for the fields of a local user (its v2.0 user handler and user manager). */

const illegalInNames = [',', '~', '#', '$', '%'];
// Harbor's email pattern, kept as is so the same addresses pass and fail.
const emailPattern =
  /^(([^<>()[\]\\.,;:\s@"]+(\.[^<>()[\]\\.,;:\s@"]+)*)|(".+"))@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$/;

export interface ProfileFields {
  email: string;
  realname: string;
  comment: string;
}

export function usernameProblem(username: string): string | undefined {
  if (username.length < 1 || username.length > 255) return 'username with illegal length';
  if (illegalInNames.some((character) => username.includes(character)) || username.includes('"')) {
    return 'username contains illegal characters';
  }
  return undefined;
}

export function profileProblem(profile: ProfileFields): string | undefined {
  if (!profile.email) return "email can't be empty";
  if (profile.email.length > 255 || !emailPattern.test(profile.email)) return 'email with illegal format';
  if (profile.realname.length < 1 || profile.realname.length > 255) return 'realname with illegal length';
  if (illegalInNames.some((character) => profile.realname.includes(character))) {
    return 'realname contains illegal characters';
  }
  if (profile.comment.length > 30) return 'comment with illegal length';
  return undefined;
}
