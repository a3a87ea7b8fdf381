export { virErrorOf, waitFor } from '../../src/testing/wait';
