import { Type, type Static } from '@sinclair/typebox'

export const EmailSchema = Type.String({ format: 'email', maxLength: 254 })
export const UsernameSchema = Type.String({ pattern: '^[A-Za-z0-9._-]{3,64}$', description: '3-64 letters, digits, dot, underscore, hyphen' })
export const PasswordSchema = Type.String({ minLength: 1, maxLength: 512, description: '8-128 characters (code points); common passwords are refused' })
export const FullNameSchema = Type.String({ maxLength: 200 })

export const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.String(),
  username: Type.String(),
  fullName: Type.Union([Type.String(), Type.Null()]),
  isActive: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' })
})
export type User = Static<typeof UserSchema>

export const RegisterBodySchema = Type.Object({
  email: EmailSchema,
  username: UsernameSchema,
  password: PasswordSchema,
  fullName: Type.Optional(FullNameSchema)
}, { additionalProperties: false })

const Param = (maxLength = 4096) => Type.Optional(Type.String({ maxLength }))

/** RFC 6749 token request, form-urlencoded or JSON. */
export const TokenBodySchema = Type.Object({
  grant_type: Type.String({ maxLength: 64 }),
  username: Param(254),
  password: Param(512),
  scope: Param(4096),
  tenant: Param(64),
  refresh_token: Param(512),
  refresh_in_cookie: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Boolean()])),
  client_id: Param(128),
  client_secret: Param(512)
}, { additionalProperties: false })
export type TokenBody = Static<typeof TokenBodySchema>

export const TokenResponseSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.Optional(Type.String()),
  scope: Type.String()
})

export const RevokeBodySchema = Type.Object({
  token: Type.String({ maxLength: 8192 }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 })),
  client_id: Param(128),
  client_secret: Param(512)
}, { additionalProperties: false })

export const MeSchema = Type.Composite([UserSchema, Type.Object({
  tenant: Type.Object({ id: Type.String(), slug: Type.String(), name: Type.String() }),
  roles: Type.Array(Type.String()),
  permissions: Type.Array(Type.String()),
  scopes: Type.Array(Type.String())
})])

export const PatchMeBodySchema = Type.Object({
  fullName: Type.Optional(Type.Union([FullNameSchema, Type.Null()])),
  email: Type.Optional(EmailSchema)
}, { additionalProperties: false })

export const PasswordChangeBodySchema = Type.Object({
  currentPassword: PasswordSchema,
  newPassword: PasswordSchema
}, { additionalProperties: false })

export const SessionSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  tenantId: Type.String({ format: 'uuid' }),
  scopes: Type.Union([Type.Array(Type.String()), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  current: Type.Boolean()
})
