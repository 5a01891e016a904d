import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readReleasePlan, releasePlanProblems, repositoryRoot, type ReleasePlan } from '../../../scripts/check-release-plan.js'

interface Manifest {
  name: string
  version: string
  private?: boolean
  peerDependencies?: Record<string, string>
}

const manifest = (root: string, dir: string): Manifest => JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'))
const published = (root: string) =>
  readdirSync(join(root, 'packages'))
    .map((dir) => ({ dir, pkg: manifest(root, dir) }))
    .filter(({ pkg }) => !pkg.private)

describe('the release plan', () => {
  it('releases the pending changesets as 0.x, with no major bump', () => {
    const plan = readReleasePlan()
    expect(releasePlanProblems(plan)).toEqual([])
    for (const release of plan.releases.filter((r) => r.type !== 'none')) expect(release.newVersion).toMatch(/^0\./)
  })

  it('calls a major bump, asked for or implied, and a version reaching 1.0.0 problems', () => {
    const plan = (changesetType: string, type: string, newVersion: string): ReleasePlan => ({
      changesets: [{ id: 'some-change', releases: [{ name: '@cartwright/core', type: changesetType }] }],
      releases: [{ name: '@cartwright/core', type, oldVersion: '0.4.2', newVersion }],
    })
    expect(releasePlanProblems(plan('minor', 'minor', '0.5.0'))).toEqual([])
    expect(releasePlanProblems(plan('patch', 'major', '1.0.0'))).toEqual([
      '@cartwright/core would get a major bump (0.4.2 → 1.0.0)',
      '@cartwright/core would be released as 1.0.0, not 0.x',
    ])
    expect(releasePlanProblems(plan('major', 'major', '1.0.0'))).toContain('.changeset/some-change.md asks for a major bump of @cartwright/core')
    expect(releasePlanProblems(plan('minor', 'minor', '1.0.0-next.0'))).toEqual(['@cartwright/core would be released as 1.0.0-next.0, not 0.x'])
  })

  describe('changeset version, run in a throwaway copy of the repository', () => {
    const copy = mkdtempSync(join(tmpdir(), 'cartwright-version-'))
    afterAll(() => rmSync(copy, { recursive: true, force: true }))

    it('writes the planned 0.x versions and leaves core a peer of the adapters across 0.x', () => {
      const plan = readReleasePlan()
      const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: repositoryRoot, encoding: 'utf8' })
        .split('\0')
        .filter(Boolean)
      for (const file of files) {
        mkdirSync(dirname(join(copy, file)), { recursive: true })
        try {
          cpSync(join(repositoryRoot, file), join(copy, file))
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error // deleted in the working tree
        }
      }
      symlinkSync(join(repositoryRoot, 'node_modules'), join(copy, 'node_modules'), 'dir')
      const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=release-test', '-c', 'user.email=release-test@localhost', ...args], { cwd: copy, stdio: 'pipe' })
      git('init', '-q', '-b', 'main')
      git('add', '-A')
      git('commit', '-q', '-m', 'snapshot')
      const before = published(copy)
      execFileSync(process.execPath, [join(copy, 'node_modules/@changesets/cli/bin.js'), 'version'], { cwd: copy, stdio: 'pipe' })

      for (const { dir, pkg } of before) {
        const after = manifest(copy, dir)
        const planned = plan.releases.find((r) => r.name === pkg.name)
        expect(after.version, pkg.name).toBe(planned && planned.type !== 'none' ? planned.newVersion : pkg.version)
        expect(after.version, pkg.name).toMatch(/^0\./)
        expect(after.peerDependencies?.['@cartwright/core'], pkg.name).toBe(pkg.peerDependencies?.['@cartwright/core'])
      }
    })
  })
})
