// Drizzle tables. drizzle-kit reads this file to generate migrations/ (npm run db:generate).
// The foundation defines no tables yet; each resource adds its own here.
export {};
