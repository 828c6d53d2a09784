// Sotto for Node as an ES module: the same module as `require("sotto")`.
import sotto from "./index.cjs";

export const { Messenger, Subscription, constants } = sotto;
export default sotto;
