/**
 * What `changeset status` would release, checked against the rule that releases stay on 0.x
 * until the project decides otherwise: no changeset may ask for a major bump, and no package may
 * be bumped to a major or reach 1.0.0 (a major bump can also come from changesets itself, for a
 * dependent whose peer range the new version leaves).
 *
 *   tsx scripts/check-release-plan.ts     # prints the plan; exits 1 on a problem
 *
 * packages/release-tests runs the same check in CI.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The part of `changeset status --output` this check reads. */
export interface ReleasePlan {
  changesets: Array<{ id: string; releases: Array<{ name: string; type: string }> }>
  releases: Array<{ name: string; type: string; oldVersion: string; newVersion: string }>
}

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Runs `changeset status --output` in `root` and returns the plan. Like `changeset status`, it
 * needs the base branch (`main`) in the clone, and fails when packages changed with no changeset
 * at all; the error says so.
 */
export function readReleasePlan(root = repositoryRoot): ReleasePlan {
  const dir = mkdtempSync(join(tmpdir(), 'cartwright-release-plan-'))
  try {
    const output = join(dir, 'plan.json')
    execFileSync(process.execPath, [join(root, 'node_modules/@changesets/cli/bin.js'), 'status', `--output=${output}`], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return JSON.parse(readFileSync(output, 'utf8')) as ReleasePlan
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '')
    throw new Error(`changeset status failed:\n${stderr || String(error)}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Every way the plan would leave 0.x, as sentences; empty when it stays. */
export function releasePlanProblems(plan: ReleasePlan): string[] {
  const problems: string[] = []
  for (const changeset of plan.changesets) {
    for (const release of changeset.releases) {
      if (release.type === 'major') problems.push(`.changeset/${changeset.id}.md asks for a major bump of ${release.name}`)
    }
  }
  for (const release of plan.releases) {
    if (release.type === 'major') problems.push(`${release.name} would get a major bump (${release.oldVersion} → ${release.newVersion})`)
    const major = Number.parseInt(release.newVersion.split('.')[0] ?? '', 10)
    if (!(major < 1)) problems.push(`${release.name} would be released as ${release.newVersion}, not 0.x`)
  }
  return problems
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const plan = readReleasePlan()
  for (const r of plan.releases.filter((r) => r.type !== 'none')) console.log(`${r.name}: ${r.type}, ${r.oldVersion} → ${r.newVersion}`)
  const problems = releasePlanProblems(plan)
  for (const problem of problems) console.error(`release plan: ${problem}`)
  console.log(problems.length ? `release plan: ${problems.length} problems` : 'release plan: stays on 0.x')
  process.exit(problems.length ? 1 : 0)
}
