import type { PostRow } from '../repositories/posts.js'
import type { Post } from '../schemas/posts.js'

/** The API shape of a post. */
export const postView = (row: PostRow): Post => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString()
})
