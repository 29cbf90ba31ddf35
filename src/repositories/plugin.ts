import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Db } from '../db/client.js'

/**
 * A repository as a plugin (the fastify/demo way): it decorates the instance with `key`
 * (`app.rolesRepository`), built once on the database handle, under the plugin name
 * `roles-repository`, after the `db` plugin. The decoration's type is declared (module
 * augmentation of FastifyInstance) next to each repository.
 */
export function repositoryPlugin<K extends keyof FastifyInstance & `${string}Repository`> (key: K, create: (db: Db) => FastifyInstance[K]) {
  const name = key.replace(/[A-Z]/g, c => '-' + c.toLowerCase())
  return fp(async function repository (app: FastifyInstance) {
    const repository: object = create(app.db)
    app.decorate(key as string, repository)
  }, { name, dependencies: ['db'] })
}
