import { Type, type Static } from '@sinclair/typebox'
import { PageQuerySchema, pageOf, UuidSchema } from './common.js'
import { named } from './registry.js'

const Title = Type.String({ minLength: 1, maxLength: 200 })
const Content = Type.String({ maxLength: 20_000 })

export const PostSchema = named('Post', Type.Object({
  id: UuidSchema,
  title: Type.String(),
  content: Type.String(),
  isPublished: Type.Boolean(),
  authorId: UuidSchema,
  tenantId: UuidSchema,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
}, { description: 'A post of the example protected resource' }))
export type Post = Static<typeof PostSchema>
export const PostPageSchema = pageOf(PostSchema)

export const CreatePostSchema = named('CreatePostRequest', Type.Object({
  title: Title,
  content: Content,
  isPublished: Type.Optional(Type.Boolean())
}, { additionalProperties: false }))

export const UpdatePostSchema = named('UpdatePostRequest', Type.Object({
  title: Type.Optional(Title),
  content: Type.Optional(Content),
  isPublished: Type.Optional(Type.Boolean({ description: 'changing it also needs posts:publish' }))
}, { additionalProperties: false, minProperties: 1 }))

export const PostListQuerySchema = Type.Composite([
  PageQuerySchema,
  Type.Object({
    authorId: Type.Optional(UuidSchema),
    published: Type.Optional(Type.Boolean())
  })
])
