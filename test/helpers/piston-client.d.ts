/** piston-client ships no types: what the drop-in test uses of it (its README's API). */
declare module 'piston-client' {
  interface Stage {
    stdout: string;
    stderr: string;
    output: string;
    code: number | null;
    signal: string | null;
  }
  interface Result {
    language: string;
    version: string;
    compile?: Stage;
    run?: Stage;
    message?: string;
  }
  interface Client {
    runtimes(): Promise<Array<{ language: string; version: string; aliases: string[] }>>;
    execute(language: string, code: string, config?: Record<string, unknown>): Promise<Result>;
  }
  export default function piston(options?: { server?: string }): Client;
}
