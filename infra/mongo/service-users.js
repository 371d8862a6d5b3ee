// Run once by the official mongo image on a fresh volume (docker-entrypoint-initdb.d),
// unauthenticated on its temporary local server, after the root user was created.
// One user per service: readWrite on its own database and nothing else. Passwords come
// from the environment (compose requires them); nothing secret is kept in this file.
const prefix = process.env.LT_MONGO_DATABASE_PREFIX || "lt_";
const admin = db.getSiblingDB("admin");
for (const service of ["intake", "routing", "notification", "audit", "console"]) {
  const password = process.env[`LT_${service.toUpperCase()}_MONGO_PASSWORD`];
  if (!password) {
    throw new Error(`LT_${service.toUpperCase()}_MONGO_PASSWORD is not set`);
  }
  admin.createUser({
    user: service,
    pwd: password,
    roles: [{ role: "readWrite", db: `${prefix}${service}` }],
    mechanisms: ["SCRAM-SHA-256"],
  });
  print(`created store user ${service} (readWrite on ${prefix}${service})`);
}
