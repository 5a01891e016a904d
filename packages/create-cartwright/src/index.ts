/**
 * create-cartwright as a library: the steps `npm create cartwright` takes, for tools that make a
 * Cartwright store themselves.
 */
export { main, parseArguments, USAGE, type CliArguments, type CliIo } from './cli.js'
export { checkTarget, invalidName, packageJson, rewriteShop, UsageError, type PaymentsChoice, type ProjectChoices, type StorageChoice, type TemplateManifest } from './project.js'
export { monorepoReferences, readTemplate, renderProject, writeProject, type Template } from './scaffold.js'
