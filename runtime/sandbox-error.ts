/** A sandbox could not be made or used: the launcher failed, or was given what it cannot do. */
export class SandboxError extends Error {
  override name = 'SandboxError';
}
