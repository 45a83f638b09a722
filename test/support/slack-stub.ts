/** The Slack Web API stub lives in src/devtools (the demo uses it too); tests import it from here. */
export {
  startSlackStub,
  channelId,
  formatForTerminal,
  type SlackStub,
  type SlackStubCall,
  type SlackStubFailure,
  type SlackStubMessage,
  type SlackStubMethod,
  type SlackStubOptions,
} from '../../src/devtools/slack-stub.js';
