// `sluice demo`: option checks, then the website monitor (src/cli/demo.ts).
export async function runDemoCommand(_opts: Record<string, string | undefined>): Promise<void> {
  throw new Error('demo is not wired yet');
}
