export { virErrorOf } from '../../src/testing/wait';
