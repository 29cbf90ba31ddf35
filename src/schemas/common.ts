import { Type, type Static, type TSchema } from '@sinclair/typebox'

export const UuidSchema = Type.String({ format: 'uuid' })
export const IdParamsSchema = Type.Object({ id: UuidSchema })

export const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: Type.String(),
  errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() })))
}, { $id: undefined, description: 'RFC 9457 problem details' })

export const OAuthErrorSchema = Type.Object({
  error: Type.String(),
  error_description: Type.Optional(Type.String())
}, { description: 'RFC 6749 section 5.2 error' })

export const PageQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 512 }))
})
export type PageQuery = Static<typeof PageQuerySchema>

export const PageOf = <T extends TSchema>(item: T) => Type.Object({
  items: Type.Array(item),
  nextCursor: Type.Union([Type.String(), Type.Null()])
})

/** The standard error answers of a protected route. */
export const protectedErrors = {
  400: ProblemSchema,
  401: ProblemSchema,
  403: ProblemSchema
}
