import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox'

/**
 * The named schemas: every shape that more than one operation shares, and every request and
 * answer body an SDK wants a type name for. Each becomes `components.schemas[name]` of the
 * OpenAPI document and is referenced with `$ref`, so generated clients get `User`, `Role`,
 * `Problem`, ... instead of `GetMe200`. One list, filled as the schema modules load; the schemas
 * plugin gives it to Fastify (validation, serialization, the document) before any route.
 */
const registry: TSchema[] = []

/** Names a schema (PascalCase): routes refer to it with `ref(schema)`, never inline. */
export function named<T extends TSchema> (name: string, schema: T): T {
  if (!/^[A-Z][A-Za-z0-9]+$/.test(name)) throw new Error(`schema name ${name} is not PascalCase`)
  if (registry.some(s => s.$id === name)) throw new Error(`schema ${name} is named twice`)
  schema.$id = name
  registry.push(schema)
  return schema
}

/** A reference to a named schema, typed as the schema. */
export function ref<T extends TSchema> (schema: T): TUnsafe<Static<T>> {
  if (schema.$id === undefined) throw new Error('ref() of a schema that has no name')
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id))
}

export function namedSchemas (): readonly TSchema[] {
  return registry
}
