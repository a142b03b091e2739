import { graphql } from "./graphql";

export const UserBrief = graphql(`
  fragment UserBrief on User {
    id
    name
    avatar
  }
`);

export const VideoCardFields = graphql(
  `
    fragment VideoCardFields on Video {
      id
      title
      favoriteCount
      commentCount
      playUrl
      coverUrl
      viewerHasLiked
      author {
        ...UserBrief
        viewerIsFollowing
      }
    }
  `,
  [UserBrief],
);

export const MessageFields = graphql(`
  fragment MessageFields on Message {
    id
    content
    createdAt
    sender {
      id
    }
    recipient {
      id
    }
  }
`);

export const ViewerQuery = graphql(
  `
    query Viewer {
      viewer {
        ...UserBrief
      }
    }
  `,
  [UserBrief],
);

export const FeedQuery = graphql(
  `
    query Feed($first: Int!, $after: String) {
      feed(first: $first, after: $after) {
        edges {
          cursor
          node {
            ...VideoCardFields
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  `,
  [VideoCardFields],
);

export const RegisterMutation = graphql(
  `
    mutation Register($username: String!, $password: String!) {
      register(username: $username, password: $password) {
        token
        user {
          ...UserBrief
        }
      }
    }
  `,
  [UserBrief],
);

export const LoginMutation = graphql(
  `
    mutation Login($username: String!, $password: String!) {
      login(username: $username, password: $password) {
        token
        user {
          ...UserBrief
        }
      }
    }
  `,
  [UserBrief],
);

export const LikeMutation = graphql(`
  mutation Like($id: ID!) {
    likeVideo(videoId: $id) {
      id
      favoriteCount
      viewerHasLiked
    }
  }
`);

export const UnlikeMutation = graphql(`
  mutation Unlike($id: ID!) {
    unlikeVideo(videoId: $id) {
      id
      favoriteCount
      viewerHasLiked
    }
  }
`);

export const FollowMutation = graphql(`
  mutation Follow($id: ID!) {
    followUser(userId: $id) {
      id
      viewerIsFollowing
      followerCount
    }
  }
`);

export const UnfollowMutation = graphql(`
  mutation Unfollow($id: ID!) {
    unfollowUser(userId: $id) {
      id
      viewerIsFollowing
      followerCount
    }
  }
`);

export const CommentFields = graphql(
  `
    fragment CommentFields on Comment {
      id
      content
      createdAt
      author {
        ...UserBrief
      }
    }
  `,
  [UserBrief],
);

export const CommentsQuery = graphql(
  `
    query Comments($id: ID!) {
      video(id: $id) {
        id
        title
        commentCount
        author {
          id
        }
        comments(first: 100) {
          nodes {
            ...CommentFields
          }
        }
      }
    }
  `,
  [CommentFields],
);

export const AddCommentMutation = graphql(
  `
    mutation AddComment($videoId: ID!, $content: String!) {
      addComment(videoId: $videoId, content: $content) {
        ...CommentFields
      }
    }
  `,
  [CommentFields],
);

export const DeleteCommentMutation = graphql(`
  mutation DeleteComment($id: ID!) {
    deleteComment(commentId: $id) {
      deletedCommentId
      video {
        id
        commentCount
      }
    }
  }
`);

export const VideoTile = graphql(`
  fragment VideoTile on Video {
    id
    title
    coverUrl
    favoriteCount
  }
`);

export const ProfileQuery = graphql(
  `
    query Profile($id: ID!) {
      user(id: $id) {
        ...UserBrief
        signature
        followCount
        followerCount
        totalFavorited
        workCount
        favoriteCount
        viewerIsFollowing
        videos(first: 60) {
          nodes {
            ...VideoTile
          }
        }
        favorites(first: 60) {
          nodes {
            ...VideoTile
          }
        }
        following(first: 100) {
          nodes {
            ...UserBrief
          }
        }
        followers(first: 100) {
          nodes {
            ...UserBrief
          }
        }
      }
    }
  `,
  [UserBrief, VideoTile],
);

export const PublishMutation = graphql(`
  mutation Publish($title: String!, $file: Upload!) {
    publishVideo(title: $title, file: $file) {
      id
      title
    }
  }
`);

export const FriendsQuery = graphql(
  `
    query Friends {
      viewer {
        id
        friends(first: 100) {
          edges {
            node {
              ...UserBrief
            }
            lastMessage {
              ...MessageFields
            }
          }
        }
      }
    }
  `,
  [UserBrief, MessageFields],
);

export const ConversationQuery = graphql(
  `
    query Conversation($id: ID!, $after: DateTime) {
      user(id: $id) {
        ...UserBrief
      }
      conversation(withUserId: $id, after: $after, first: 100) {
        ...MessageFields
      }
    }
  `,
  [UserBrief, MessageFields],
);

export const SendMessageMutation = graphql(
  `
    mutation SendMessage($to: ID!, $content: String!) {
      sendMessage(toUserId: $to, content: $content) {
        ...MessageFields
      }
    }
  `,
  [MessageFields],
);

export const MessageSubscription = graphql(
  `
    subscription MessageReceived {
      messageReceived {
        ...MessageFields
      }
    }
  `,
  [MessageFields],
);
