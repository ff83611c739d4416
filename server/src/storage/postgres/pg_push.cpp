// PgTransaction's Web Push subscriptions (migration 0011).
#include "storage/postgres/database.hpp"
#include "storage/postgres/pg_transaction.hpp"

namespace parley::storage::postgres {
namespace {

PushSubscription read_subscription(const Statement& row) {
  PushSubscription s;
  s.id = row.int64(0);
  s.user_id = row.int64(1);
  s.session_id = row.int64(2);
  s.endpoint = row.text(3);
  s.p256dh = row.text(4);
  s.auth = row.text(5);
  s.created_at = row.int64(6);
  return s;
}

}  // namespace

PushSubscription PgTransaction::upsert_push_subscription(const PushSubscription& subscription) {
  // A new id on every registration: a subscription id the old session
  // listed does not carry over to the new one.
  db_.prepare("DELETE FROM push_subscriptions WHERE endpoint = ?1").bind(1, subscription.endpoint).run();
  Statement& insert = db_.prepare(
      "INSERT INTO push_subscriptions (user_id, session_id, endpoint, p256dh, auth, created_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id, user_id, session_id, endpoint, p256dh, auth, created_at");
  insert.bind(1, subscription.user_id)
      .bind(2, subscription.session_id)
      .bind(3, subscription.endpoint)
      .bind_blob(4, subscription.p256dh)
      .bind_blob(5, subscription.auth)
      .bind(6, subscription.created_at);
  if (!insert.step()) throw StorageError("push_subscriptions: insert returned no row");
  auto stored = read_subscription(insert);
  insert.reset();
  return stored;
}

std::vector<PushSubscription> PgTransaction::push_subscriptions(UserId user) {
  Statement& query = db_.prepare(
      "SELECT id, user_id, session_id, endpoint, p256dh, auth, created_at FROM push_subscriptions "
      "WHERE user_id = ?1 ORDER BY id");
  query.bind(1, user);
  std::vector<PushSubscription> result;
  while (query.step()) result.push_back(read_subscription(query));
  query.reset();
  return result;
}

bool PgTransaction::delete_push_subscription(UserId user, PushSubscriptionId id) {
  db_.prepare("DELETE FROM push_subscriptions WHERE id = ?1 AND user_id = ?2").bind(1, id).bind(2, user).run();
  return db_.changes() > 0;
}

bool PgTransaction::delete_push_subscription_by_id(PushSubscriptionId id) {
  db_.prepare("DELETE FROM push_subscriptions WHERE id = ?1").bind(1, id).run();
  return db_.changes() > 0;
}

}  // namespace parley::storage::postgres
